# cx container image: one image for every role. The entry point is `cx-server` (apps/server); the
# command picks the role:
#   docker run cx              -> all-in-one (embedded default: SQLite + private redis-server under /data)
#   docker run cx sm|wfm|sddc  -> one service each (multi-process deployments, see docs/deployment.md)
#   docker run cx migrate      -> apply the SQL migrations and exit

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------
# sources: only what the build needs (every workspace and every project tsconfig.json builds;
# a new top-level one must be added here), cleaned of anything a developer's checkout may carry
# (node_modules compiled for another platform, stale dist/ and .tsbuildinfo that would make
# `tsc -b` skip a project). The later stages copy from here, so the image is the same whether or
# not the build context was clean.
# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS sources
WORKDIR /src
COPY package.json package-lock.json tsconfig*.json ./
COPY packages ./packages
COPY services ./services
COPY apps ./apps
COPY migrations ./migrations
# The end-to-end tests are not shipped (removed after the build), but tsconfig.json builds them.
COPY test ./test
# /manifests gets the lockfile and the workspace manifests alone, so that the `npm ci` layer stays
# cached while only sources change.
RUN find . \( -name node_modules -o -name dist -o -name .cx -o -name coverage -o -name test-results \) -type d -prune -exec rm -rf {} + \
 && find . -name '*.tsbuildinfo' -type f -delete \
 && mkdir /manifests \
 && find . -name package.json -type f -exec cp --parents {} /manifests/ \; \
 && cp package-lock.json /manifests/

# ---------------------------------------------------------------------------------------------
# build: install every dependency, compile the TypeScript projects, then drop dev dependencies.
# better-sqlite3 falls back to node-gyp when no prebuilt binary matches, hence python3/make/g++.
# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=sources /manifests/ ./
RUN npm ci --no-audit --no-fund
COPY --from=sources /src/ ./
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && rm -rf test

# ---------------------------------------------------------------------------------------------
# runtime
# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# redis-server serves the default `all-in-one` command, which starts a private Redis when
# CX_REDIS_URL is unset; the single-service commands never use it.
# /data is the only writable state directory: the code under /app stays root-owned, read-only to
# the app. /data/sim exists in the image so that a fresh named volume mounted there inherits the
# ownership of the `node` user.
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data/sim \
 && chown -R node:node /data

ENV NODE_ENV=production \
    CX_DATA_DIR=/data \
    CX_HTTP_HOST=0.0.0.0

WORKDIR /app
COPY --from=build /app /app

USER node
# wfm (public API and UI), sm (internal API), sddc (health and metrics)
EXPOSE 8080 8081 8082

ENTRYPOINT ["node", "apps/server/dist/main.js"]
CMD ["all-in-one"]
