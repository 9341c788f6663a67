# syntax=docker/dockerfile:1
# SPDX-License-Identifier: ISC
#
# atcal consumer image: source (firehose or Jetstream) -> RabbitMQ.
# Build from the repository root (the context must hold Makefile and the
# sources; consumer.Dockerfile.dockerignore beside this file keeps the rest out):
#   docker build -f k8s/docker/consumer.Dockerfile -t atcal/consumer .
# Stage 1 compiles with the project Makefile on Debian 12; stage 2 is
# bookworm-slim with only the shared libraries the binary links, running as
# the unprivileged uid 10001 (the pods' runAsUser).

FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
	build-essential pkg-config libssl-dev libzstd-dev librabbitmq-dev \
	libpq-dev libsecp256k1-dev libjansson-dev libcurl4-openssl-dev libwebsockets-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY shared/ shared/
COPY consumer/ consumer/
RUN make -j"$(nproc)" WERROR=1 build/bin/consumer

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
	ca-certificates libssl3 libzstd1 librabbitmq4 libpq5 libsecp256k1-1 \
	libjansson4 libwebsockets17 libcurl4 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 atcal \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
	--home-dir /nonexistent --shell /usr/sbin/nologin atcal
COPY --from=build /src/build/bin/consumer /usr/local/bin/consumer
# Listen on all interfaces inside the container (the binaries default to
# loopback for local runs); k8s sets the same in its ConfigMap.
ENV METRICS_LISTEN=0.0.0.0:9464
EXPOSE 9464
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/consumer"]
