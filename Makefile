# atcal: AT Protocol calendar ingestion. One non-recursive Makefile; every
# output goes to build/. Source lists are explicit so the module inventory is
# reviewable here.

CC	?= gcc
BUILD	?= build
SANITIZE ?=
DEBUG	?=
WERROR	?=

PKG_CONFIG ?= pkg-config

WARN	= -Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith \
	  -Wmissing-prototypes -Wstrict-prototypes -Wmissing-declarations \
	  -Wno-unused-parameter
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -MMD -MP -g $(WARN) -Ishared
ifeq ($(DEBUG),)
ALL_CFLAGS += -O2
else
ALL_CFLAGS += -O0
endif
ifneq ($(WERROR),)
ALL_CFLAGS += -Werror
endif
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
ALL_LDFLAGS += -fsanitize=$(SANITIZE)
endif
ALL_CFLAGS += $(CFLAGS)
ALL_LDFLAGS += $(LDFLAGS)

# Third-party libraries, found with pkg-config.
LIBS_SHARED	= $(shell $(PKG_CONFIG) --libs libcrypto libzstd librabbitmq libpq libsecp256k1)
CFLAGS_SHARED	= $(shell $(PKG_CONFIG) --cflags libcrypto libzstd librabbitmq libpq libsecp256k1)
LIBS_LWS	= $(shell $(PKG_CONFIG) --libs libwebsockets)
LIBS_JANSSON	= $(shell $(PKG_CONFIG) --libs jansson)
LIBS_CURL	= $(shell $(PKG_CONFIG) --libs libcurl)
LIBS_CMOCKA	= $(shell $(PKG_CONFIG) --libs cmocka)

# --- shared/: the C library used by two or more services -----------------
SHARED_SRC = \
	shared/cbor.c shared/cid.c shared/car.c shared/crypto_hash.c \
	shared/atjson.c shared/frame.c shared/jsout.c shared/zst.c \
	shared/capture.c shared/frame_op.c \
	shared/syntax.c shared/syntax_json.c shared/tid.c shared/crypto_sig.c \
	shared/mst.c shared/didres.c shared/didres_doc.c \
	shared/util.c shared/log.c shared/buf.c shared/config.c \
	shared/db.c shared/migrate.c \
	shared/mq.c shared/mq_publish.c shared/metrics.c shared/ops_http.c shared/mq_consume.c \
	shared/xrpc.c shared/dlq.c

# --- consumer/: network -> RabbitMQ ---------------------------------------
# CONSUMER_MAIN holds main(); everything else is also linked into the
# consumer's unit tests.
CONSUMER_MAIN = consumer/main.c
CONSUMER_SRC = \
	consumer/cmd_decode.c consumer/cmd_bench.c \
	consumer/settings.c consumer/ws.c consumer/tracker.c consumer/cursor.c \
	consumer/ingest.c consumer/ingest_source.c consumer/jetstream.c \
	consumer/leader.c consumer/route.c consumer/telemetry.c consumer/live.c \
	consumer/cmd_capture.c consumer/verify.c \
	consumer/backfill.c consumer/backfill_repo.c consumer/backfill_store.c \
	consumer/backfill_parse.c consumer/backfill_enum.c consumer/labels.c \
	consumer/labels_frame.c consumer/pubbatch.c \

# --- processor/: RabbitMQ -> integration API -------------------------------
PROCESSOR_MAIN = processor/main.c
PROCESSOR_SRC = \
	processor/telemetry.c \
	processor/map.c processor/outcome.c processor/api_client.c \
	processor/settings.c processor/fate.c processor/pipeline.c \
	processor/fetch_event.c processor/fetch_event_map.c \
	processor/dlq.c processor/batch.c processor/job.c processor/settle.c \
	processor/call.c processor/map_life.c processor/resolver.c

# --- api/: Kore HTTP -> Postgres --------------------------------------------
# API_PURE_SRC: no Kore calls (validation, mapping); unit-tested alone.
# API_KORE_SRC: handlers and Kore glue (store.c needs no Kore but does I/O,
# so it is linked only into the binary).
API_PURE_SRC = \
	api/input.c api/auth.c api/validate.c \
	api/ratelimit.c api/telemetry.c api/faults.c \
	api/oplist.c api/lifecycle.c

API_KORE_SRC = \
	api/api.c api/handlers.c api/store.c \
	api/metrics_http.c api/guard.c api/lifecycle_http.c api/store_life.c \
	api/call.c api/read.c api/store_read.c api/tls.c api/dlq_http.c

# --- unit tests: tests/<component>/test_<module>.c, one binary each --------
UNIT_TESTS = \
	tests/api/test_input.c tests/api/test_auth.c tests/api/test_validate.c \
	tests/api/test_ratelimit.c tests/api/test_telemetry.c \
	tests/api/test_faults.c \
	tests/api/test_oplist.c tests/api/test_lifecycle.c \
	tests/shared/test_cbor.c tests/shared/test_cid.c \
	tests/shared/test_frame.c tests/shared/test_datamodel.c \
	tests/consumer/test_decode_golden.c \
	tests/consumer/test_tracker.c tests/consumer/test_jetstream.c \
	tests/shared/test_metrics.c \
	tests/shared/test_syntax.c tests/shared/test_tid.c \
	tests/shared/test_crypto_sig.c tests/shared/test_datamodel_json.c \
	tests/shared/test_mst.c tests/shared/test_didres.c \
	tests/consumer/test_verify.c \
	tests/consumer/test_labels_frame.c tests/consumer/test_backfill_parse.c \
	tests/consumer/test_pubbatch.c \
	tests/shared/test_xrpc.c tests/shared/test_dlq.c \
	tests/processor/test_map.c tests/processor/test_outcome.c \
	tests/processor/test_batch.c tests/processor/test_job.c \
	tests/processor/test_fetch_event_map.c \
	tests/processor/test_resolver.c \

SHARED_OBJ	= $(SHARED_SRC:%.c=$(BUILD)/obj/%.o)
CONSUMER_OBJ	= $(CONSUMER_SRC:%.c=$(BUILD)/obj/%.o)
PROCESSOR_OBJ	= $(PROCESSOR_SRC:%.c=$(BUILD)/obj/%.o)
API_PURE_OBJ	= $(API_PURE_SRC:%.c=$(BUILD)/obj/%.o)
LIBATC		= $(BUILD)/lib/libatc.a
UNIT_BINS	= $(UNIT_TESTS:tests/%.c=$(BUILD)/tests/%)

.PHONY: all check test run bench clean services-up services-down migrate \
	deps test-deps unit format-check

BINS = $(BUILD)/bin/consumer $(BUILD)/bin/processor $(BUILD)/bin/api
# tests/hostile/: the hostile-client generator (libcurl multi).
HOSTILE_BIN = $(BUILD)/tests/hostile/hostile

all: $(BINS) $(UNIT_BINS) $(HOSTILE_BIN)

$(BUILD)/bin/consumer: $(BUILD)/obj/$(CONSUMER_MAIN:.c=.o) $(CONSUMER_OBJ) $(LIBATC)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_LWS) $(LIBS_CURL) $(LIBS_JANSSON) $(LIBS_SHARED) -lm

$(BUILD)/bin/processor: $(BUILD)/obj/$(PROCESSOR_MAIN:.c=.o) $(PROCESSOR_OBJ) $(LIBATC)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_CURL) $(LIBS_JANSSON) $(LIBS_SHARED) -lm

# api: one self-contained binary built with Kore's own sources in
# single-binary mode and exactly the feature defines of the installed Kore
# (api/README.md explains why).
KORE_DIR	?= /usr/share/kore
KORE_FEATURES	= $(shell cat $(KORE_DIR)/features) -DKORE_SINGLE_BINARY
KORE_SRC	= kore.c buf.c config.c connection.c domain.c filemap.c \
	fileref.c json.c mem.c msg.c module.c net.c pool.c runtime.c timer.c \
	utils.c worker.c keymgr.c auth.c accesslog.c http.c validator.c \
	websocket.c pgsql.c tasks.c linux.c seccomp.c
KORE_OBJ	= $(KORE_SRC:%.c=$(BUILD)/obj/kore/%.o) $(BUILD)/obj/kore/version.o
KORE_CFLAGS	= -std=c99 -O2 -g -D_GNU_SOURCE=1 -I$(KORE_DIR)/include/kore \
	-I$(BUILD)/obj/kore $(KORE_FEATURES) -DPREFIX='"/usr"' \
	-fstack-protector-all -Wno-deprecated-declarations
API_KORE_OBJ	= $(API_KORE_SRC:%.c=$(BUILD)/obj/%.o)
$(API_KORE_OBJ): ALL_CFLAGS += $(KORE_FEATURES) -I$(KORE_DIR)/include -Iapi

$(BUILD)/obj/kore/platform.h:
	@mkdir -p $(@D)
	$(KORE_DIR)/misc/linux-platform.sh > $@
$(BUILD)/obj/kore/version.c:
	@mkdir -p $(@D)
	printf 'const char *kore_version = "%s";\n' "$$(cat $(KORE_DIR)/RELEASE)" > $@
$(BUILD)/obj/kore/version.o: $(BUILD)/obj/kore/version.c
	$(CC) $(KORE_CFLAGS) -c $< -o $@
$(BUILD)/obj/kore/%.o: $(KORE_DIR)/src/%.c $(BUILD)/obj/kore/platform.h
	@mkdir -p $(@D)
	$(CC) $(KORE_CFLAGS) -c $< -o $@

# api/openapi.yaml becomes JSON at build time (yq) linked in as bytes
# (xxd), served at GET /api/openapi.json.
API_GEN_OBJ	= $(BUILD)/obj/gen/openapi_json.o
$(BUILD)/gen/openapi_json.c: api/openapi.yaml
	@mkdir -p $(@D)
	{ echo 'const unsigned char api_openapi_json[] = {'; \
	  yq -c . api/openapi.yaml | xxd -i; echo ', 0x00 };'; \
	  echo 'const unsigned long api_openapi_json_len ='; \
	  echo '    sizeof(api_openapi_json) - 1;'; } > $@.tmp && mv $@.tmp $@
$(API_GEN_OBJ): $(BUILD)/gen/openapi_json.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/bin/api: $(KORE_OBJ) $(API_KORE_OBJ) $(API_PURE_OBJ) $(API_GEN_OBJ) $(LIBATC)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -rdynamic -o $@ $^ $(LIBS_JANSSON) $(LIBS_SHARED) \
	    -lssl -lcrypto -lpthread -ldl -lm

migrate: $(BUILD)/bin/api
	$(BUILD)/bin/api migrate

# Tests see their component's headers.
$(BUILD)/obj/tests/consumer/%.o: ALL_CFLAGS += -Iconsumer
$(BUILD)/obj/tests/processor/%.o: ALL_CFLAGS += -Iprocessor
$(BUILD)/obj/tests/api/%.o: ALL_CFLAGS += -Iapi

# Unit tests link their component's objects (never its main) and cmocka.
$(BUILD)/tests/shared/%: $(BUILD)/obj/tests/shared/%.o $(LIBATC)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_CMOCKA) $(LIBS_CURL) $(LIBS_JANSSON) $(LIBS_SHARED) -lm
$(BUILD)/tests/consumer/%: $(BUILD)/obj/tests/consumer/%.o $(CONSUMER_OBJ) $(LIBATC)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_CMOCKA) $(LIBS_LWS) $(LIBS_CURL) $(LIBS_JANSSON) $(LIBS_SHARED) -lm
$(BUILD)/tests/processor/%: $(BUILD)/obj/tests/processor/%.o $(PROCESSOR_OBJ) $(LIBATC)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_CMOCKA) $(LIBS_CURL) $(LIBS_JANSSON) $(LIBS_SHARED) -lm
$(BUILD)/tests/api/%: $(BUILD)/obj/tests/api/%.o $(API_PURE_OBJ) $(LIBATC)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_CMOCKA) $(LIBS_JANSSON) $(LIBS_SHARED) -lm

$(HOSTILE_BIN): tests/hostile/hostile.c tests/hostile/cases.c \
    tests/hostile/hostile.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(filter %.c,$^) $(LIBS_CURL)

unit: $(UNIT_BINS)
	@tests/run_unit.sh $(UNIT_BINS)

# --- benchmarks: `make bench` (tests/bench/run.sh; results in build/bench/) --
BENCH_BINS = $(BUILD)/bench/bin/decode_floor $(BUILD)/bench/bin/jetstream_bench \
	$(BUILD)/bench/bin/loadsrc
$(BUILD)/obj/tests/bench/%.o: ALL_CFLAGS += -Iconsumer
$(BUILD)/bench/bin/decode_floor: $(BUILD)/obj/tests/bench/decode_floor.o $(LIBATC)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_JANSSON) $(LIBS_SHARED) -lm
$(BUILD)/bench/bin/loadsrc: $(BUILD)/obj/tests/bench/loadsrc.o \
    $(BUILD)/obj/tests/bench/loadgen.o $(LIBATC)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_JANSSON) $(LIBS_SHARED) -lm
$(BUILD)/bench/bin/jetstream_bench: $(BUILD)/obj/tests/bench/jetstream_bench.o \
    $(CONSUMER_OBJ) $(LIBATC)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_LWS) $(LIBS_CURL) $(LIBS_JANSSON) $(LIBS_SHARED) -lm
.PHONY: bench-build
bench-build: $(BINS) $(BENCH_BINS)
bench: deps
	$(MAKE) bench-build
	scripts/services.sh up
	tests/bench/run.sh

# --- local services, dependencies, the whole test run (scripts/, tests/) ----
deps:
	scripts/deps.sh

test-deps:
	scripts/deps.sh --test

services-up:
	scripts/services.sh up

services-down:
	scripts/services.sh down

# Sequential on purpose: the build needs the packages deps installs, and
# pkg-config must run after them, hence the sub-make.
test: test-deps
	$(MAKE) all
	$(MAKE) BUILD=$(ASAN_BUILD) SANITIZE=address,undefined all
	scripts/services.sh up
	SANITIZED=$(ASAN_BUILD) VALGRIND=1 tests/run.sh

check: test

# The full hostile-client run against the API (100,000 requests); the
# same script runs 10,000 within `make test`.
.PHONY: test-hostile
test-hostile: all
	scripts/services.sh up
	HOSTILE_REQUESTS=100000 tests/integration/test_api_hostile.sh

# The full fault suite (tests/faults/run.sh: 3,000 operations, 10 kill -9
# of each service, broker and database restarts, on private servers it
# starts itself); tests/interop/test_faults_short.sh runs a short one in
# `make test`.
.PHONY: test-faults
test-faults: test-deps
	$(MAKE) all
	tests/faults/run.sh

run: deps
	$(MAKE) all
	scripts/services.sh up
	@# api's config requires SERVICE_API_KEYS even for `api migrate`; the
	@# real (dev) key is set up by scripts/run.sh.
	SERVICE_API_KEYS="$${SERVICE_API_KEYS:-migrate-only}" $(MAKE) migrate
	scripts/run.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CFLAGS_SHARED) -c $< -o $@

$(LIBATC): $(SHARED_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# --- fuzzing: libFuzzer targets over the decoders (clang only) ------------
# `make fuzz FUZZ_SECONDS=N` builds tests/fuzz/fuzz_<t>.c against the shared
# sources instrumented with -fsanitize=fuzzer,address,undefined, builds the
# seed corpora from the fixtures (in place, under build/fuzz/seed) and runs
# each target for N seconds. Crashes land in build/fuzz/artifacts/<t>/.
FUZZ_CC		?= clang
FUZZ_SECONDS	?= 60
FIXTURES_DIR	?= ../shared/fixtures
FUZZ_TARGETS	= frame car cbor_json jetstream_json api_validate api_input
FUZZ_CFLAGS	= -std=c11 -D_GNU_SOURCE -g -O1 -Ishared -Iconsumer -Iapi \
		  -fno-omit-frame-pointer -fsanitize=address,undefined \
		  -fno-sanitize-recover=undefined
FUZZ_SRC	= $(SHARED_SRC) consumer/jetstream.c consumer/route.c $(API_PURE_SRC)
FUZZ_LIB	= $(BUILD)/fuzz/libatc_fuzz.a
FUZZ_BINS	= $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(CFLAGS_SHARED) \
	    -c $< -o $@
$(FUZZ_LIB): $(FUZZ_SRC:%.c=$(BUILD)/fuzz/obj/%.o)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(CFLAGS_SHARED) -o $@ \
	    $^ $(LIBS_JANSSON) $(LIBS_SHARED) -lm
$(BUILD)/fuzz/seed-tool: tests/fuzz/fuzz_seed.c $(LIBATC)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CFLAGS_SHARED) $(ALL_LDFLAGS) -o $@ $^ \
	    $(LIBS_JANSSON) $(LIBS_SHARED) -lm

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS) $(BUILD)/fuzz/seed-tool
fuzz: fuzz-build
	@test -d $(FIXTURES_DIR) || { echo "fuzz: no fixtures at $(FIXTURES_DIR)"; exit 1; }
	rm -rf $(BUILD)/fuzz/seed
	$(BUILD)/fuzz/seed-tool $(FIXTURES_DIR) $(BUILD)/fuzz/seed
	tests/fuzz/api_seeds.sh $(BUILD)/fuzz/seed
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(BUILD)/fuzz/corpus/$$t $(BUILD)/fuzz/artifacts/$$t; \
		echo "fuzz_$$t: $(FUZZ_SECONDS)s, seeds $$(ls $(BUILD)/fuzz/seed/$$t | wc -l)"; \
		$(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
		    -print_final_stats=1 -max_len=1048576 -rss_limit_mb=2048 \
		    -artifact_prefix=$(BUILD)/fuzz/artifacts/$$t/ \
		    $(BUILD)/fuzz/corpus/$$t $(BUILD)/fuzz/seed/$$t \
		    2>$(BUILD)/fuzz/fuzz_$$t.log || \
		    { tail -60 $(BUILD)/fuzz/fuzz_$$t.log; exit 1; }; \
		grep -E '^stat::(number_of_executed_units|peak_rss_mb)' \
		    $(BUILD)/fuzz/fuzz_$$t.log; \
	done

# --- sanitizers and valgrind ---------------------------------------------
# check-asan: everything built with SANITIZE=address,undefined into
# build-asan/, then the unit tests and the integration/interop scripts run
# with those binaries (scripts find them through T_BIN). check-asan-unit is
# the fast part (unit tests only). check-valgrind: each unit test under
# memcheck with tests/valgrind.supp; any error or definite leak fails.
ASAN_BUILD	?= build-asan
ASAN_ENV	= ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1 \
		  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ASAN_UNIT_BINS	= $(UNIT_TESTS:tests/%.c=$(ASAN_BUILD)/tests/%)
.PHONY: check-asan check-asan-unit check-valgrind
check-asan-unit:
	$(MAKE) BUILD=$(ASAN_BUILD) SANITIZE=address,undefined $(ASAN_UNIT_BINS)
	$(ASAN_ENV) tests/run.sh $(ASAN_UNIT_BINS)
check-asan:
	$(MAKE) BUILD=$(ASAN_BUILD) SANITIZE=address,undefined all
	$(ASAN_ENV) T_BIN=$(ASAN_BUILD)/bin tests/run.sh $(ASAN_UNIT_BINS) \
	    $(wildcard tests/integration/test_*.sh tests/interop/test_*.sh)
check-valgrind: $(UNIT_BINS)
	@fail=0; mkdir -p $(BUILD)/valgrind; for t in $(UNIT_BINS); do \
		log=$(BUILD)/valgrind/$$(echo $${t#$(BUILD)/tests/} | tr / _).log; \
		if valgrind -q --error-exitcode=1 --leak-check=full \
		    --errors-for-leak-kinds=definite --track-origins=yes \
		    --suppressions=tests/valgrind.supp $$t >$$log 2>&1; then \
			echo "PASS  valgrind $$t"; \
		else \
			echo "FAIL  valgrind $$t (log $$log)"; tail -n 40 $$log; \
			fail=1; \
		fi; \
	done; exit $$fail

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
