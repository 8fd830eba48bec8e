# Multi-stage build: compile with dev dependencies, ship only runtime dependencies and dist/.
# Node 22: the LTS line supported until 2027 (20 leaves support in April 2026); the code runs on 20 as well.
FROM node:22-bookworm-slim AS build
# better-sqlite3 (the write-ahead log) downloads a prebuilt binary; these compile it where none can be fetched.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY fixtures ./fixtures
# --omit=optional leaves TensorFlow.js out (~300 MB): serve, replay and eval run the confidence model in plain
# TypeScript (src/model/dense-forward.ts); only `harbinger train` needs TF.js, and it says so in this image.
RUN npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev --omit=optional --no-audit --no-fund

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# The runtime dependencies as the build stage installed and pruned them: better-sqlite3's native
# binary included, with no compiler in this image.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/fixtures ./fixtures
COPY models ./models
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["node", "dist/src/cli/main.js"]
# All interfaces, so `-p 8080:8080` reaches it; that requires HARBINGER_API_TOKEN (or _FILE): without one, serve
# refuses to start with the reason instead of listening where nobody can reach it while the HEALTHCHECK passes.
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--data-dir", "/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
