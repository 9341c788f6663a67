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
LIBS_SHARED	= $(shell $(PKG_CONFIG) --libs libcrypto libzstd librabbitmq libpq)
CFLAGS_SHARED	= $(shell $(PKG_CONFIG) --cflags libcrypto libzstd librabbitmq libpq)
LIBS_LWS	= $(shell $(PKG_CONFIG) --libs libwebsockets)
LIBS_JANSSON	= $(shell $(PKG_CONFIG) --libs jansson)
LIBS_CURL	= $(shell $(PKG_CONFIG) --libs libcurl)
LIBS_CMOCKA	= $(shell $(PKG_CONFIG) --libs cmocka)

# --- shared/: the C library used by two or more services -----------------
SHARED_SRC = \
	shared/util.c shared/log.c shared/buf.c shared/config.c

# --- consumer/: network -> RabbitMQ ---------------------------------------
# CONSUMER_MAIN holds main(); everything else is also linked into the
# consumer's unit tests.
CONSUMER_MAIN = consumer/main.c
CONSUMER_SRC = \

# --- processor/: RabbitMQ -> integration API -------------------------------
PROCESSOR_MAIN = processor/main.c
PROCESSOR_SRC = \

# --- api/: Kore HTTP -> Postgres --------------------------------------------
# API_PURE_SRC: no Kore calls (validation, mapping); unit-tested alone.
# API_KORE_SRC: handlers and Kore glue.
API_PURE_SRC = \

API_KORE_SRC = \

# --- unit tests: tests/<component>/test_<module>.c, one binary each --------
UNIT_TESTS = \

SHARED_OBJ	= $(SHARED_SRC:%.c=$(BUILD)/obj/%.o)
CONSUMER_OBJ	= $(CONSUMER_SRC:%.c=$(BUILD)/obj/%.o)
PROCESSOR_OBJ	= $(PROCESSOR_SRC:%.c=$(BUILD)/obj/%.o)
API_PURE_OBJ	= $(API_PURE_SRC:%.c=$(BUILD)/obj/%.o)
LIBATC		= $(BUILD)/lib/libatc.a
UNIT_BINS	= $(UNIT_TESTS:tests/%.c=$(BUILD)/tests/%)

.PHONY: all check test run bench clean services-up services-down migrate \
	deps test-deps unit format-check

BINS = $(BUILD)/bin/consumer $(BUILD)/bin/processor $(BUILD)/bin/api

all: $(BINS) $(UNIT_BINS)

$(BUILD)/bin/consumer: $(BUILD)/obj/$(CONSUMER_MAIN:.c=.o) $(CONSUMER_OBJ) $(LIBATC)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_LWS) $(LIBS_JANSSON) $(LIBS_SHARED) -lm

$(BUILD)/bin/processor: $(BUILD)/obj/$(PROCESSOR_MAIN:.c=.o) $(PROCESSOR_OBJ) $(LIBATC)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_CURL) $(LIBS_JANSSON) $(LIBS_SHARED) -lm

# Unit tests link their component's objects (never its main) and cmocka.
$(BUILD)/tests/shared/%: $(BUILD)/obj/tests/shared/%.o $(LIBATC)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_CMOCKA) $(LIBS_JANSSON) $(LIBS_SHARED) -lm
$(BUILD)/tests/consumer/%: $(BUILD)/obj/tests/consumer/%.o $(CONSUMER_OBJ) $(LIBATC)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_CMOCKA) $(LIBS_LWS) $(LIBS_JANSSON) $(LIBS_SHARED) -lm
$(BUILD)/tests/processor/%: $(BUILD)/obj/tests/processor/%.o $(PROCESSOR_OBJ) $(LIBATC)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_CMOCKA) $(LIBS_CURL) $(LIBS_JANSSON) $(LIBS_SHARED) -lm
$(BUILD)/tests/api/%: $(BUILD)/obj/tests/api/%.o $(API_PURE_OBJ) $(LIBATC)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_CMOCKA) $(LIBS_JANSSON) $(LIBS_SHARED) -lm

unit: $(UNIT_BINS)
	@tests/run_unit.sh $(UNIT_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CFLAGS_SHARED) -c $< -o $@

$(LIBATC): $(SHARED_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
