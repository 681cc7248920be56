# syntax=docker/dockerfile:1
# The base images are build arguments: the defaults are the public images users build with;
# `npm run local` builds this same file with no registry (tools/node/dockerfile.ts, BUILD_IMAGE=host
# and RUN_IMAGE=spaces.local/nodejs-run, a distroless-like Node 24 root made from this machine).
ARG BUILD_IMAGE=node:24-bookworm-slim
ARG RUN_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# Build: compile TypeScript and keep only production dependencies. --prefer-offline: a build on
# the host (npm run local, the node tests) takes the packages from the npm cache the clone's own
# `npm ci` filled instead of asking the registry again (15 minutes on a slow registry day).
FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --prefer-offline --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev --ignore-scripts

# Run: distroless Node 24, non-root, nothing but the compiled operator and its dependencies.
FROM ${RUN_IMAGE}
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
USER 65532:65532
EXPOSE 9443 8080
ENTRYPOINT ["/nodejs/bin/node", "dist/src/main.js"]
