# Flow: one entry point.
#   make          build flowc and flowvm (into build/)
#   make test     install what is missing, build, run every test, also under ASan+UBSan
#   make demo     install what is missing, build, compile flows/, run them on sample events
#   make bench    the benchmarks with their peers
#   make fuzz     longer fuzz runs (FUZZ_SECONDS each, default 600)

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
SAN     ?=
WARN     = -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CFLAGS_ALL = -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L $(OPT) -g $(WARN) $(SAN) \
             -I$(BUILD)/gen -I. $(CFLAGS)
LDLIBS_ALL = -Wl,--as-needed -lsqlite3 -lcurl -lcjson -lcrypto -lmicrohttpd -lm $(LDLIBS)

GEN      = $(BUILD)/gen
STDLIB_SRC  = $(wildcard stdlib/*.c)
VM_SRC      = $(wildcard vm/*.c)
LANG_SRC    = $(filter-out lang/flowc.c,$(wildcard lang/*.c))
RUNTIME_SRC = $(filter-out runtime/flowvm.c,$(wildcard runtime/*.c))
LANG_GEN    = $(GEN)/lexer.c $(GEN)/grammar.c
LIB_SRC     = $(STDLIB_SRC) $(VM_SRC) $(LANG_SRC) $(RUNTIME_SRC)
LIB_OBJ     = $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC)) $(BUILD)/obj/gen/lexer.o $(BUILD)/obj/gen/grammar.o

UNIT_SRC    = $(wildcard tests/unit/*.c)
UNIT_BIN    = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all deps test test-fast demo bench fuzz clean asan tsan
.DELETE_ON_ERROR:

all: $(BUILD)/flowc $(BUILD)/flowvm $(UNIT_BIN)

deps:
	@scripts/deps.sh

# ---------------------------------------------------------------- generated
$(GEN)/lexer.c: lang/lexer.re | $(GEN)
	re2c -W --no-generation-date -o $@ $<

# lemon writes grammar.c and grammar.h beside its output directory (-d)
$(GEN)/grammar.c $(GEN)/grammar.h: lang/grammar.y | $(GEN)
	lemon -q -d$(GEN) -T/usr/share/lemon/lempar.c $<

$(GEN):
	@mkdir -p $@

# ---------------------------------------------------------------- objects
$(BUILD)/obj/%.o: %.c $(GEN)/grammar.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

# generated code is not ours to keep warning-free
$(BUILD)/obj/gen/%.o: $(GEN)/%.c $(GEN)/grammar.h
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Werror -Wshadow,$(CFLAGS_ALL)) $(GEN_FLAGS) -Wno-unused-variable -Ilang -MMD -MP -c -o $@ $<

# lemon's tracing and assertions cost 5% of `flowc check`: the parser runs without them
$(BUILD)/obj/gen/grammar.o: GEN_FLAGS = -DNDEBUG

$(BUILD)/libflow.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/flowc: $(BUILD)/obj/lang/flowc.o $(BUILD)/libflow.a
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/flowvm: $(BUILD)/obj/runtime/flowvm.o $(BUILD)/libflow.a
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libflow.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libflow.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------- commands
asan:
	@$(MAKE) --no-print-directory BUILD=build/asan OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" all

# ThreadSanitizer: the threaded programs (flowvm serve, flowvm deliver) for
# the suites that run them (tests/run.sh)
tsan:
	@$(MAKE) --no-print-directory BUILD=build/tsan OPT=-O1 SAN=-fsanitize=thread build/tsan/flowc build/tsan/flowvm

test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory tsan
	@tests/run.sh

test-fast: all
	@FLOW_NO_ASAN=1 FLOW_NO_FUZZ=1 tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

bench: deps
	@scripts/deps.sh --bench
	@$(MAKE) --no-print-directory all $(BUILD)/bench/flow_peer
	@bench/run.sh

fuzz: deps
	@$(MAKE) --no-print-directory all
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-600} tests/fuzz/run.sh

clean:
	rm -rf build
