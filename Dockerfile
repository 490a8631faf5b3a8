# syntax=docker/dockerfile:1
# Build a static binary (modernc's SQLite is pure Go, so CGO is off) and ship
# it alone on a distroless base as a non-root user.
#   docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse --short HEAD) -t queuewrangler .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The build context has no .git, so the commit comes in as an argument;
# `queuewrangler version` prints both.
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/queuewrangler/queuewrangler/internal/version.version=${VERSION} -X github.com/queuewrangler/queuewrangler/internal/version.commit=${COMMIT}" \
      -o /out/queuewrangler ./cmd/queuewrangler \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/queuewrangler /usr/local/bin/queuewrangler
# The volume's mount point must belong to the non-root user before it is
# declared, or a fresh named volume would be root-owned and unwritable.
COPY --from=build --chown=65532:65532 /out/data /data
ENV QW_DB_PATH=/data/queuewrangler.db \
    QW_LISTEN_ADDR=:8080 \
    QW_LOG_FORMAT=json
VOLUME /data
EXPOSE 8080
USER 65532:65532
# The image has no shell and no curl: the binary probes its own /readyz
# (healthy once the first sync has finished; a large account's first sync
# may take minutes, hence the long start period).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10m --start-interval=5s --retries=3 \
  CMD ["/usr/local/bin/queuewrangler", "healthcheck"]
# What `docker stop` sends, said here so that no base image changes it:
# serve stops within 8 s of it (the default stop timeout is 10 s), and
# leaves what it cut to the next start (README, section 2).
STOPSIGNAL SIGTERM
# serve by default; any other command when one is named after the image
# (docker run --rm queuewrangler version).
ENTRYPOINT ["/usr/local/bin/queuewrangler"]
CMD ["serve"]
