/*
 * test_artifact.c - the artifact's bytes: encode/load round trip and
 * determinism, the verifier refusing each kind of bad input with its
 * message, truncation at every length, flipped bytes, hostile counts,
 * linking, and the disassembler's output.
 */
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../stdlib/builtins.h"
#include "art_builder.h"
#include "testing.h"

/* A flow with a bit of everything. */
static Builder *sample(void)
{
    Builder *b = b_new(ART_FLOW, "usage_alert", "data.usage");
    b->art.title = "Fleet A data usage";
    b->art.scope = ART_SCOPE_TAGS;
    b->scope_items[0] = "USA-FleetA";
    b->art.nscope_items = 1;
    b->art.has_active_from = true;
    b->art.active_from = 1796083200;
    b->inputs[0] = (ArtInput){ "noc", "list<email>", true, b_list(b, 1, b_str(b, "noc@acme.example")) };
    b->inputs[1] = (ArtInput){ "alert_at", "percent", true, val_real(VAL_PERCENT, 80) };
    b->art.ninputs = 2;
    b->imports[0] = (ArtImport){ "notify_billing", "(string) -> nothing" };
    b->art.nimports = 1;
    b_fn(b, "do", 0, 9);
    ABX(INPUT, 0, 0);
    ABX(LOADK, 1, b_const(b, b_str(b, "SIM used \"it\"\n")));
    ABC(LOADNIL, 2, 0, 0);
    ABC(LOADNIL, 3, 0, 0);
    ABC(LOADNIL, 4, 0, 0);
    ABC(LOADNIL, 5, 0, 0);
    ABC(LOADNIL, 6, 0, 0);
    ABC(ACT, 0, ACT_EMAIL, 7);
    ABX(LOADK, 7, b_const(b, val_integral(VAL_BYTES, 800000000)));
    const char *keys[] = { "used", "pct" };
    ABC(EVENT, 8, EVF_PAYLOAD + 2, 0);
    ABC(RECORD, 7, 7, 2);
    ABX(EXTRA, 0, b_const(b, b_strs(b, 2, keys)));
    ABC(CALL, 1, 2, 1);
    ABC(RET, 0, 0, 0);
    b->art.fn_when = b_fn(b, "when", 0, 2);
    ABC(EVENT, 0, EVF_PAYLOAD + 2, 0);
    ABX(INPUT, 1, 1);
    ABC(LE, 0, 1, 0);
    ABC(RET, 0, 1, 0);
    b_const(b, val_real(VAL_FLOAT, 3));
    b_const(b, val_integral(VAL_DURATION, 93600));
    b_const(b, val_integral(VAL_TIME, 1796464800));
    return b;
}

static void rechecksum(uint8_t *bytes, size_t len)
{
    unsigned int n = 32;
    EVP_Digest(bytes, len - 32, bytes + len - 32, &n, EVP_sha256(), NULL);
}

static int load_bytes(const uint8_t *bytes, size_t len, char *err, size_t errlen)
{
    Artifact *art = NULL;
    int rc = art_load(bytes, len, &art, err, errlen);
    art_free(art);
    return rc;
}

/* ---------------------------------------------------------- round trip */

static void test_round_trip(void)
{
    Builder *b = sample();
    uint8_t *one, *two, *three;
    size_t n1, n2, n3;
    char err[256] = "";
    CHECK(art_encode(&b->art, &one, &n1, err, sizeof err) == 0);
    CHECK(art_encode(&b->art, &two, &n2, err, sizeof err) == 0);
    CHECK(n1 == n2 && memcmp(one, two, n1) == 0);
    Artifact *art = NULL;
    CHECK(art_load(one, n1, &art, err, sizeof err) == 0);
    if (!art) {
        fprintf(stderr, "load: %s\n", err);
        return;
    }
    /* loaded and encoded again: the same bytes */
    CHECK(art_encode(art, &three, &n3, err, sizeof err) == 0);
    CHECK(n3 == n1 && memcmp(one, three, n1) == 0);
    CHECK_STR(art->name, "usage_alert");
    CHECK_STR(art->event, "data.usage");
    CHECK_STR(art->title, "Fleet A data usage");
    CHECK(art->scope == ART_SCOPE_TAGS && art->nscope_items == 1);
    CHECK_STR(art->scope_items[0], "USA-FleetA");
    CHECK(art->ninputs == 2 && art->inputs[0].dflt.tag == VAL_LIST);
    CHECK_STR(art->inputs[0].dflt.as.l->items[0].as.s->data, "noc@acme.example");
    CHECK(art->nfunctions == 2 && art->fn_do == 0 && art->fn_when == 1);
    CHECK(art->functions[1].ncode == 4 && art->functions[1].code[2] == INS_ABC(OP_LE, 0, 1, 0));
    CHECK(art_line(art, 1, 2) == 102 && art_line(art, 1, 99) == 0 && art_line(art, 7, 0) == 0);
    CHECK(art->constants[1].tag == VAL_BYTES && art->constants[1].as.i == 800000000);
    CHECK(art->active_from == 1796083200 && art->has_active_from && !art->has_active_until);
    unsigned char digest[32];
    unsigned int dn = 32;
    EVP_Digest(one, n1 - 32, digest, &dn, EVP_sha256(), NULL);
    CHECK(memcmp(art->checksum, digest, 32) == 0);

    /* linking: the import must be given, with the same signature */
    char lerr[256];
    CHECK(vm_program_new(art, NULL, 0, lerr, sizeof lerr) == NULL);
    CHECK_STR(lerr, "usage_alert imports notify_billing, which is not given");
    Builder *sb = b_new(ART_SUB, "notify_billing", NULL);
    sb->art.signature = "(int) -> nothing";
    b_fn(sb, "notify_billing", 1, 1);
    b_emit(sb, INS_ABC(OP_RET, 0, 0, 0));
    Artifact *sub = b_load(sb, lerr, sizeof lerr);
    CHECK(sub != NULL);
    const Artifact *subs[] = { sub };
    CHECK(vm_program_new(art, subs, 1, lerr, sizeof lerr) == NULL);
    CHECK_STR(lerr, "usage_alert imports notify_billing (string) -> nothing, but the sub is (int) -> nothing");
    art_free(sub);
    sb->art.signature = "(string) -> nothing";
    sub = b_load(sb, lerr, sizeof lerr);
    subs[0] = sub;
    VmProgram *program = vm_program_new(art, subs, 1, lerr, sizeof lerr);
    CHECK(program != NULL);
    vm_program_free(program);
    /* an import called with the wrong number of arguments fails at link */
    art->functions[0].code[12] = INS_ABC(OP_CALL, 1, 2, 2);
    CHECK(vm_program_new(art, subs, 1, lerr, sizeof lerr) == NULL);
    CHECK_STR(lerr, "usage_alert calls notify_billing with 2 arguments; it takes 1");
    art_free(sub);
    b_free(sb);
    art_free(art);
    free(one);
    free(two);
    free(three);
    b_free(b);
}

static void test_disassembly(void)
{
    Builder *b = sample();
    char err[256];
    Artifact *art = b_load(b, err, sizeof err);
    CHECK(art != NULL);
    if (!art) return;
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    art_disassemble(art, out);
    fclose(out);
    CHECK(strstr(text, "flow usage_alert\n") != NULL);
    CHECK(strstr(text, "  title \"Fleet A data usage\"\n") != NULL);
    CHECK(strstr(text, "  on data.usage\n  scope tags \"USA-FleetA\"\n") != NULL);
    CHECK(strstr(text, "  active from 2026-12-01T00:00:00Z\n") != NULL);
    CHECK(strstr(text, "  0  noc: list<email> = [\"noc@acme.example\"]\n") != NULL);
    CHECK(strstr(text, "  0  notify_billing (string) -> nothing\n") != NULL);
    CHECK(strstr(text, "  K0  \"SIM used \\\"it\\\"\\n\"\n") != NULL);
    CHECK(strstr(text, "  K1  800MB\n") != NULL);
    CHECK(strstr(text, "  K3  3.0\n  K4  1d 2h\n  K5  2026-12-05T10:00:00Z\n") != NULL);
    CHECK(strstr(text, "function 1 when: 0 params, 2 registers, 4 instructions\n") != NULL);
    CHECK(strstr(text, "        ; 100: flow t {\n  0000  [line 100]  EVENT    R0 4  ; event.percent\n") != NULL);
    CHECK(strstr(text, "  0001  [line 101]  LOADK    R1 K0  ; \"SIM used \\\"it\\\"\\n\"\n") != NULL);
    CHECK(strstr(text, "  0007  [line 107]  ACT      R0 0 7  ; email\n") != NULL);
    CHECK(strstr(text, "  0011  [line 111]  EXTRA    K2  ; [\"used\", \"pct\"]\n") != NULL);
    CHECK(strstr(text, "  0012  [line 112]  CALL     R1 2 1  ; import notify_billing\n") != NULL);
    CHECK(strstr(text, "  0003  [line 103]  RET      R0\n") != NULL);
    /* stable: the same text twice */
    char *again = NULL;
    size_t size2 = 0;
    out = open_memstream(&again, &size2);
    art_disassemble(art, out);
    fclose(out);
    CHECK(size == size2 && strcmp(text, again) == 0);
    free(text);
    free(again);
    art_free(art);
    b_free(b);
}

/* ------------------------------------------------------------ verifier */

/* A minimal valid flow, changed by `mutate`, must be refused with `want`
 * somewhere in the message. */
static void refused(void (*mutate)(Builder *), const char *want, int line)
{
    Builder *b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 4);
    ABX(LOADK, 0, b_const(b, val_integral(VAL_INT, 1)));
    ABC(RET, 0, 0, 0);
    mutate(b);
    char err[256] = "";
    Artifact *art = b_load(b, err, sizeof err);
    if (art || !strstr(err, want) || strncmp(err, "offset ", 7) != 0) {
        testing_failed++;
        fprintf(stderr, "%s:%d: want refusal with \"%s\", got %s \"%s\"\n", __FILE__, line, want,
                art ? "success" : "", err);
    } else {
        testing_passed++;
    }
    art_free(art);
    b_free(b);
}

static void set_code(Builder *b, uint32_t pc, uint32_t ins)
{
    b->code[0][pc] = ins;
    if (b->fns[0].ncode <= pc) b->fns[0].ncode = pc + 1;
}

static void m_bad_jump(Builder *b) { set_code(b, 1, INS_ASBX(OP_JMP, 0, 5)); }
static void m_jump_before(Builder *b) { set_code(b, 1, INS_ASBX(OP_JMP, 0, -3)); }
static void m_jump_extra(Builder *b)
{
    const char *keys[] = { "a" };
    set_code(b, 0, INS_ASBX(OP_JMP, 0, 1));
    set_code(b, 1, INS_ABC(OP_RECORD, 0, 0, 1));
    set_code(b, 2, INS_ABX(OP_EXTRA, 0, b_const(b, b_strs(b, 1, keys))));
    set_code(b, 3, INS_ABC(OP_RET, 0, 0, 0));
}
static void m_bad_register(Builder *b) { set_code(b, 0, INS_ABC(OP_MOVE, 4, 0, 0)); }
static void m_bad_range(Builder *b) { set_code(b, 0, INS_ABC(OP_LIST, 0, 2, 3)); }
static void m_forloop_range(Builder *b)
{
    set_code(b, 0, INS_ASBX(OP_FORLOOP, 2, -1));
}
static void m_bad_const(Builder *b) { set_code(b, 0, INS_ABX(OP_LOADK, 0, 9)); }
static void m_bad_opcode(Builder *b) { set_code(b, 0, 200); }
/* the VM's internal superinstructions start at OP_NOPCODES: never from a file */
static void m_internal_opcode(Builder *b) { set_code(b, 0, INS_ABC(OP_NOPCODES, 0, 0, 0)); }
static void m_unused(Builder *b) { set_code(b, 0, INS_ABC(OP_MOVE, 0, 1, 7)); }
static void m_loadb(Builder *b) { set_code(b, 0, INS_ABC(OP_LOADB, 0, 2, 0)); }
static void m_event_field(Builder *b) { set_code(b, 0, INS_ABC(OP_EVENT, 0, 5, 0)); }
static void m_sim_field(Builder *b) { set_code(b, 0, INS_ABC(OP_SIM, 0, SIM_NFIELDS, 0)); }
static void m_input(Builder *b) { set_code(b, 0, INS_ABX(OP_INPUT, 0, 0)); }
static void m_ctx(Builder *b) { set_code(b, 0, INS_ABC(OP_CTX, 0, CTX_NSLOTS, 0)); }
static void m_call_index(Builder *b) { set_code(b, 0, INS_ABC(OP_CALL, 0, 3, 0)); }
static void m_call_arity(Builder *b) { set_code(b, 0, INS_ABC(OP_CALL, 0, 0, 1)); }
static void m_callb_index(Builder *b) { set_code(b, 0, INS_ABC(OP_CALLB, 0, 250, 1)); }
static void m_callb_arity(Builder *b) { set_code(b, 0, INS_ABC(OP_CALLB, 0, std_find("lower", 5), 2)); }
static void m_act_kind(Builder *b) { set_code(b, 0, INS_ABC(OP_ACT, 0, ACT_NACTIONS, 0)); }
static void m_act_arity(Builder *b) { set_code(b, 0, INS_ABC(OP_ACT, 0, ACT_EMAIL, 3)); }
static void m_record_no_extra(Builder *b) { set_code(b, 0, INS_ABC(OP_RECORD, 0, 0, 1)); }
static void m_record_keys(Builder *b)
{
    set_code(b, 0, INS_ABC(OP_RECORD, 0, 0, 2));
    set_code(b, 1, INS_ABX(OP_EXTRA, 0, 0));
    set_code(b, 2, INS_ABC(OP_RET, 0, 0, 0));
}
static void m_lone_extra(Builder *b) { set_code(b, 0, INS_ABX(OP_EXTRA, 0, 0)); }
static void m_no_terminator(Builder *b) { set_code(b, 1, INS_ABC(OP_MOVE, 0, 0, 0)); }
static void m_forprep(Builder *b) { set_code(b, 0, INS_ASBX(OP_FORPREP, 0, 0)); }
static void m_ret(Builder *b) { set_code(b, 1, INS_ABC(OP_RET, 3, 0, 0)); }
static void m_role(Builder *b) { b->art.fn_when = 4; }
static void m_role_params(Builder *b)
{
    b->fns[0].nparams = 1;
}
static void m_event(Builder *b) { b->art.event = "data.usage.typo"; }
static void m_input_type(Builder *b)
{
    b->inputs[0] = (ArtInput){ "x", "list<mail>", false, { 0 } };
    b->art.ninputs = 1;
}
static void m_input_default(Builder *b)
{
    b->inputs[0] = (ArtInput){ "x", "list<email>", true, b_list(b, 1, val_integral(VAL_INT, 1)) };
    b->art.ninputs = 1;
}
static void m_string_utf8(Builder *b) { b->art.title = "bad \xc0\xaf utf-8"; }
static void m_string_surrogate(Builder *b) { b->consts[0] = b_str(b, "\xed\xa0\x80"); }
static void m_nan(Builder *b) { b->consts[0] = val_real(VAL_FLOAT, NAN); }
static void m_scope(Builder *b)
{
    b->art.scope = ART_SCOPE_PACKAGE;
    b->art.nscope_items = 0;
}
static void m_params(Builder *b)
{
    b->fns[0].nparams = 5;
}
static void m_empty(Builder *b) { b->fns[0].ncode = 0; }
static void m_sub_event(Builder *b)
{
    b->art.kind = ART_SUB;
    b->art.fn_sub = 0;
    b->art.fn_do = -1;
}

static void test_verifier(void)
{
    refused(m_bad_jump, "JMP: jump to 7 is outside the function (0..1)", __LINE__);
    refused(m_jump_before, "JMP: jump to -1 is outside the function", __LINE__);
    refused(m_jump_extra, "JMP: jump to 2 lands on an operand word", __LINE__);
    refused(m_bad_register, "MOVE: register R4 out of range (the function has 4)", __LINE__);
    refused(m_bad_range, "LIST: registers R2..R4 out of range", __LINE__);
    refused(m_forloop_range, "FORLOOP: registers R2..R4 out of range", __LINE__);
    refused(m_bad_const, "LOADK: constant K9 out of range (the artifact has 1)", __LINE__);
    refused(m_bad_opcode, "unknown opcode 200", __LINE__);
    char internal[32];
    snprintf(internal, sizeof internal, "unknown opcode %d", OP_NOPCODES);
    refused(m_internal_opcode, internal, __LINE__);
    refused(m_unused, "MOVE: operand C is 7, must be 0", __LINE__);
    refused(m_loadb, "LOADB: B is 2, not 0 or 1", __LINE__);
    refused(m_event_field, "EVENT: field 5 out of range (data.usage has 5)", __LINE__);
    refused(m_sim_field, "SIM: field 18 out of range", __LINE__);
    refused(m_input, "INPUT: input 0 out of range (the artifact has 0)", __LINE__);
    refused(m_ctx, "CTX: slot 4 out of range", __LINE__);
    refused(m_call_index, "CALL: function 3 out of range (1 functions, 0 imports)", __LINE__);
    refused(m_call_arity, "CALL: 1 arguments to function 0, which takes 0", __LINE__);
    refused(m_callb_index, "CALLB: built-in 250 out of range", __LINE__);
    refused(m_callb_arity, "CALLB: 2 arguments to lower, which takes 1..1", __LINE__);
    refused(m_act_kind, "ACT: unknown action 8", __LINE__);
    refused(m_act_arity, "ACT: 3 arguments to email, which takes 7", __LINE__);
    refused(m_record_no_extra, "RECORD: not followed by an EXTRA word", __LINE__);
    refused(m_record_keys, "RECORD: K0 is not a list of 2 keys", __LINE__);
    refused(m_lone_extra, "EXTRA without a RECORD before it", __LINE__);
    refused(m_no_terminator, "function 0 (do) does not end in RET, STOP or JMP", __LINE__);
    refused(m_forprep, "FORPREP: jumps to 1, not to a FORLOOP of R0", __LINE__);
    refused(m_ret, "RET: operand A is 3, must be 0", __LINE__);
    refused(m_role, "the when function 4 does not exist", __LINE__);
    refused(m_role_params, "role function 0 takes parameters", __LINE__);
    refused(m_event, "unknown event \"data.usage.typo\"", __LINE__);
    refused(m_input_type, "input x has the unknown type \"list<mail>\"", __LINE__);
    refused(m_input_default, "input x's default is not a list<email>", __LINE__);
    refused(m_string_utf8, "the title is not UTF-8 text without NUL bytes", __LINE__);
    refused(m_string_surrogate, "a string is not UTF-8 text", __LINE__);
    refused(m_nan, "a number is not finite", __LINE__);
    refused(m_scope, "a package or pool scope names 0 items, not 1", __LINE__);
    refused(m_params, "function 0 has 5 parameters but 4 registers", __LINE__);
    refused(m_empty, "function 0 has no instructions", __LINE__);
    refused(m_sub_event, "a sub with an event", __LINE__);

    /* at the edges of the bounds: 250 registers pass */
    Builder *b = b_new(ART_FLOW, "t", "data.usage");
    b_fn(b, "do", 0, 250);
    ABC(MOVE, 249, 0, 0);
    ABC(RET, 249, 1, 0);
    char err[256];
    Artifact *art = b_load(b, err, sizeof err);
    CHECK(art != NULL);
    art_free(art);
    /* the encoder refuses what exceeds a bound */
    uint8_t *bytes;
    size_t len;
    b->art.nfunctions = ART_MAX_FUNCTIONS + 1;
    CHECK(art_encode(&b->art, &bytes, &len, err, sizeof err) == -1);
    CHECK_STR(err, "more than 256 functions");
    b->art.nfunctions = 1;
    b->fns[0].nregs = 251;
    CHECK(art_encode(&b->art, &bytes, &len, err, sizeof err) == -1);
    CHECK_STR(err, "function 0 has more than 250 registers");
    b_free(b);
}

/* --------------------------------------------------------- hostile bytes */

static void test_hostile_bytes(void)
{
    Builder *b = sample();
    uint8_t *bytes;
    size_t len;
    char err[256];
    CHECK(art_encode(&b->art, &bytes, &len, err, sizeof err) == 0);
    CHECK(load_bytes(bytes, len, err, sizeof err) == 0);

    /* truncated at every length */
    int refused_all = 1;
    for (size_t cut = 0; cut < len; cut++)
        if (load_bytes(bytes, cut, err, sizeof err) != -1 || strncmp(err, "offset ", 7) != 0) refused_all = 0;
    CHECK(refused_all);
    CHECK(load_bytes(bytes, 10, err, sizeof err) == -1);
    CHECK_STR(err, "offset 10: truncated: 10 bytes, an artifact has at least 48");
    CHECK(load_bytes(bytes, len - 1, err, sizeof err) == -1);
    char want[128];
    snprintf(want, sizeof want, "offset 12: the header says %zu bytes, the file has %zu", len, len - 1);
    CHECK_STR(err, want);

    /* every byte flipped: the checksum catches it */
    uint8_t *copy = malloc(len);
    int caught = 1;
    for (size_t i = 0; i < len; i++) {
        memcpy(copy, bytes, len);
        copy[i] ^= 0x40;
        if (load_bytes(copy, len, err, sizeof err) != -1) caught = 0;
    }
    CHECK(caught);
    memcpy(copy, bytes, len);
    copy[100] ^= 1;
    CHECK(load_bytes(copy, len, err, sizeof err) == -1);
    snprintf(want, sizeof want, "offset %zu: checksum mismatch: the artifact is corrupt", len - 32);
    CHECK_STR(err, want);

    /* every byte flipped with the checksum fixed: refused or loaded, never a crash */
    int loaded = 0;
    for (size_t i = 0; i + 32 < len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(copy, bytes, len);
            copy[i] ^= (uint8_t)(1u << bit);
            rechecksum(copy, len);
            loaded += load_bytes(copy, len, err, sizeof err) == 0;
        }
    }
    CHECK(loaded > 0 && loaded < (int)len * 3);

    /* the magic and the format version */
    memcpy(copy, bytes, len);
    copy[0] = 'X';
    CHECK(load_bytes(copy, len, err, sizeof err) == -1);
    CHECK_STR(err, "offset 0: not a Flow artifact (bad magic)");
    memcpy(copy, bytes, len);
    copy[8] = 2;
    CHECK(load_bytes(copy, len, err, sizeof err) == -1);
    CHECK_STR(err, "offset 8: format version 2, this VM reads version 1");

    /* hostile counts: the head section claims more than the file */
    memcpy(copy, bytes, len);
    copy[20] = 0xff, copy[21] = 0xff, copy[22] = 0xff, copy[23] = 0x7f;
    rechecksum(copy, len);
    CHECK(load_bytes(copy, len, err, sizeof err) == -1);
    CHECK(strstr(err, "offset 20: the head section claims 2147483647 bytes") != NULL);
    /* a section id out of order */
    memcpy(copy, bytes, len);
    copy[16] = 3;
    rechecksum(copy, len);
    CHECK(load_bytes(copy, len, err, sizeof err) == -1);
    CHECK_STR(err, "offset 16: section 3 where the head section (1) belongs");
    free(copy);
    free(bytes);
    b_free(b);

    /* a constant count far beyond the bytes, and a list of a billion items */
    Builder *h = b_new(ART_FLOW, "t", "data.usage");
    b_fn(h, "do", 0, 1);
    b_emit(h, INS_ABC(OP_RET, 0, 0, 0));
    b_const(h, val_integral(VAL_INT, 7));
    CHECK(art_encode(&h->art, &bytes, &len, err, sizeof err) == 0);
    /* find the constants section: the 8-byte INT constant 7 follows tag 2 */
    size_t at = 0;
    for (size_t i = 0; i + 9 < len; i++)
        if (bytes[i] == VAL_INT && bytes[i + 1] == 7 && bytes[i + 2] == 0 && bytes[i + 8] == 0) at = i;
    CHECK(at > 4);
    uint8_t *hostile = malloc(len);
    memcpy(hostile, bytes, len);
    hostile[at - 4] = 0xff, hostile[at - 3] = 0xff, hostile[at - 2] = 0, hostile[at - 1] = 0;
    rechecksum(hostile, len);
    CHECK(load_bytes(hostile, len, err, sizeof err) == -1);
    CHECK(strstr(err, "65535 constants cannot fit") != NULL);
    memcpy(hostile, bytes, len);
    hostile[at] = VAL_LIST;
    hostile[at + 1] = 0, hostile[at + 2] = 0xca, hostile[at + 3] = 0x9a, hostile[at + 4] = 0x3b;
    rechecksum(hostile, len);
    CHECK(load_bytes(hostile, len, err, sizeof err) == -1);
    CHECK(strstr(err, "1000000000 list items, more than") != NULL);
    free(hostile);
    free(bytes);
    b_free(h);
}

int main(void)
{
    test_round_trip();
    test_disassembly();
    test_verifier();
    test_hostile_bytes();
    return testing_done();
}
