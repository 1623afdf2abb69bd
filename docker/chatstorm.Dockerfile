# syntax=docker/dockerfile:1
# The chatstorm server of docker-compose.yml (build context: the repository root).
#
# Node 20 on Debian 12 (glibc 2.36), pinned: the uWebSockets.js build aliased in package.json
# (@trufflesuite/uws-js-unofficial, native for Node 16/18/20) loads there. On Alpine (musl) or
# on Node 22+ it would fall back to pure JS, and the server refuses to start on that fallback.
# The same Node as CI, so what CI tests is what runs here.
FROM node:20.20.2-bookworm-slim

WORKDIR /app

# Dependencies first, so editing the server does not reinstall them. Every dependency is kept:
# the server runs its TypeScript with tsx (a devDependency), as in development and CI.
# --ignore-scripts: the project runs no install scripts (package.json "allowScripts"); uWS,
# bufferutil and esbuild ship their binaries in their packages.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY server/src server/src

# The data dir (rooms, token key, used tokens) is a named volume in docker-compose.yml; it is
# created here so the volume starts owned by the unprivileged user.
RUN mkdir -p /data && chown node:node /data
USER node

ENV HOST=0.0.0.0 \
    PORT=8080 \
    CHATSTORM_DATA_DIR=/data
EXPOSE 8080

HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=10 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# node is PID 1 and handles SIGTERM itself: sockets close with 1001 and the store is flushed.
CMD ["node", "--import", "tsx", "server/src/main.ts"]
