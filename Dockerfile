# redmap: one image for workers and producers.
#
#   docker build -t redmap .
#   docker run --rm --init -e REDIS_URL -e REDIS_PASSWORD redmap worker examples/log-errors/job.ts
#
# The entrypoint is the redmap CLI, so the arguments are a redmap command. The working
# directory is /app: the examples are copied to /app/examples; mount your own job files
# under /app/jobs (they resolve 'redmap', zod and the other dependencies from
# /app/node_modules there), or bake them in with `FROM redmap` + `COPY jobs/ /app/jobs/`.
# Secrets come from the environment (REDIS_PASSWORD, REDIS_PASSWORD_FILE), never from argv.
# Uses no BuildKit-only syntax, so docker-compose v1's classic builder builds it too.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Dependencies first, in their own layer, rebuilt only when the lockfile changes.
# --ignore-scripts: the package's `prepare` script is the build, which needs the sources
# copied below; the dependencies' install scripts are optional (esbuild and msgpackr find
# their prebuilt binaries without them; the dev-only native ones are not needed here).
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# Build, then drop the dev dependencies (TypeScript, eslint, vitest, testcontainers...).
RUN npm run build \
  && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# Owned by root: the app user can read the code and the dependencies but not rewrite them.
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/examples ./examples
# /app/jobs: where job files are mounted; /data: where input files are mounted. /data is
# owned by `node` so that a fresh named volume there is writable by the producer.
RUN mkdir -p /app/jobs /data && chown node:node /data
# The node image's unprivileged user (uid 1000). Job files are compiled into its
# ~/.cache/redmap/jobs (/home/node/.cache).
USER node
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["--help"]
