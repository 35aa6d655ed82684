# Build stage: type-check and bundle (scripts/bundle.mjs) with the full dependency set.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/bundle.mjs ./scripts/
RUN npm run build && npm prune --omit=dev

# Runtime stage: production dependencies and the compiled output only, as a non-root user.
FROM node:22-bookworm-slim
# libuv reads UV_THREADPOOL_SIZE once, at its pool's first job (dist/server.js, a CommonJS launcher, sets 16 when unset; explicit here):
# 16 threads let the fsyncs of concurrent commits share journal commits instead of queueing behind 4.
ENV NODE_ENV=production \
    UV_THREADPOOL_SIZE=16 \
    HOST=0.0.0.0 \
    PORT=8080 \
    STAGING_BASE_DIR=/var/lib/apex-staging
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY openapi.yaml ./
RUN mkdir -p /var/lib/apex-staging && chown node:node /var/lib/apex-staging
USER node
VOLUME ["/var/lib/apex-staging"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# node directly (not npm) so SIGTERM reaches the process and the graceful close runs.
CMD ["node", "dist/server.js"]
