# syntax=docker/dockerfile:1
# The dbwarden container image: `dbwarden <command>` as a non-root user on a read-only root
# filesystem. Build from the repository root (docs/deploy.md):
#   docker build -t registry.example.com/dbwarden:0.1.0 .
# Three stages: `build` compiles TypeScript with every dependency, `deps` installs the production
# dependencies only, and the final stage copies what runs from both, nothing else.

# Node 22 LTS on Debian 12, pinned to a release so that a rebuild gets the same runtime; bump it on
# purpose (--build-arg NODE_IMAGE=... to try another).
ARG NODE_IMAGE=node:22.22.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here; the build runs below, and no
# dependency needs an install script to compile dbwarden.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only. --ignore-scripts: `prepare` runs `npm run build`, which needs the
# dev dependencies; dist/ comes from the build stage instead.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
# Nothing may be written outside /tmp (the Helm chart mounts the root filesystem read-only).
# A 4 MB semi-space keeps the main thread's young generation small during a re-encryption: about
# 30 MB less peak RSS at no measured cost in rows/s (docs/performance.md, Memory).
ENV NODE_ENV=production HOME=/tmp NODE_OPTIONS=--max-semi-space-size=4
WORKDIR /app
# Owned by root and not writable by the user that runs dbwarden.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY bin ./bin
# Shipped policies (policies: /app/policies/nova), and the store's migrations, which dbwarden loads
# at run time from the migrations/ directory next to dist/.
COPY policies ./policies
COPY migrations ./migrations
RUN chmod 0755 bin/dbwarden.js && ln -s /app/bin/dbwarden.js /usr/local/bin/dbwarden
# A numeric user, so Kubernetes can check runAsNonRoot without an /etc/passwd entry.
USER 10001:10001
ENTRYPOINT ["dbwarden"]
CMD ["--help"]
