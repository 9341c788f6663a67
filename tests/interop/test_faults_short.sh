#!/bin/bash
# SPDX-License-Identifier: ISC
#
# The fault suite shortened for `make test` (under 4 minutes): the same
# kinds of faults as `make test-faults` (tests/faults/run.sh: kill -9 of
# every service, standby takeover, RabbitMQ and Postgres restarts, API 500s
# and a stall, SIGTERM exit codes, the PDS/API comparison, the DLQ count),
# with fewer operations and kills. Every knob can still be overridden.

export FAULTS_NAME=${FAULTS_NAME:-faults_short}
export FAULTS_OPS=${FAULTS_OPS:-600}
export FAULTS_ACCOUNTS=${FAULTS_ACCOUNTS:-30}
export FAULTS_RATE=${FAULTS_RATE:-15}
export FAULTS_KILLS=${FAULTS_KILLS:-3}
export FAULTS_GAP_MS=${FAULTS_GAP_MS:-2500}
export FAULTS_ERROR_S=${FAULTS_ERROR_S:-6}
export FAULTS_WAIT_S=${FAULTS_WAIT_S:-150}
exec bash tests/faults/run.sh
