/*
 * test_lexer.c - the front end's reading half at its edges: tokens and
 * literal values, soft keywords, string decoding, positions, the printed
 * form of diagnostics.
 */
#include <stdlib.h>
#include <string.h>

#include "grammar.h"
#include "lang/ast.h"
#include "lang/diag.h"
#include "lang/parse.h"
#include "lang/source.h"
#include "testing.h"

/* ------------------------------------------------------------ helpers */

typedef struct Fixture {
    SourceSet sources;
    DiagSink diags;
    ParseErrs errs;
    Lexer lx;
} Fixture;

static void fixture_open(Fixture *f, const char *text)
{
    src_init(&f->sources);
    diag_init(&f->diags, &f->sources);
    memset(&f->errs, 0, sizeof f->errs);
    src_add_text(&f->sources, "t.flow", text, strlen(text));
    lex_init(&f->lx, &f->sources, &f->diags, &f->errs, 0, 0);
}

static void fixture_close(Fixture *f)
{
    free(f->errs.offs);
    diag_free(&f->diags);
    src_free(&f->sources);
}

/* The first token of text. */
static Token first(const char *text, unsigned *errors)
{
    Fixture f;
    fixture_open(&f, text);
    Token tok = lex_next(&f.lx);
    *errors = f.diags.errors;
    fixture_close(&f);
    return tok;
}

static int64_t int_of(const char *text, int kind)
{
    unsigned errors;
    Token tok = first(text, &errors);
    return tok.kind == kind && errors == 0 ? tok.v.i : -999;
}

static unsigned errors_of(const char *text)
{
    unsigned errors;
    first(text, &errors);
    return errors;
}

/* The kinds of all tokens of text, 0-terminated, into kinds[]. */
static void kinds_of(const char *text, int *kinds, int max)
{
    Fixture f;
    fixture_open(&f, text);
    int n = 0;
    for (;;) {
        Token tok = lex_next(&f.lx);
        if (n < max - 1) kinds[n++] = tok.kind;
        if (tok.kind == 0) break;
    }
    kinds[n] = 0;
    fixture_close(&f);
}

/* Parses text; returns the printed diagnostics (malloc'd) and the dump. */
static char *parse_text(const char *text, char **dump)
{
    SourceSet sources;
    DiagSink diags;
    Program prog;
    src_init(&sources);
    diag_init(&diags, &sources);
    ast_program_init(&prog, &sources);
    src_add_text(&sources, "t.flow", text, strlen(text));
    parse_file(&prog, &diags, 0);
    char *out = NULL, *tree = NULL;
    size_t len = 0, tlen = 0;
    FILE *stream = open_memstream(&out, &len);
    diag_print(&diags, stream);
    fclose(stream);
    stream = open_memstream(&tree, &tlen);
    ast_dump(&prog, stream);
    fclose(stream);
    if (dump) *dump = tree;
    else free(tree);
    ast_program_free(&prog);
    diag_free(&diags);
    src_free(&sources);
    return out;
}

static void check_dump(const char *text, const char *want)
{
    char *tree;
    char *diags = parse_text(text, &tree);
    CHECK_STR(diags, "");
    CHECK_STR(tree, want);
    free(diags);
    free(tree);
}

/* ------------------------------------------------------------ tests */

static void test_numbers(void)
{
    CHECK(int_of("42", TK_INT) == 42);
    CHECK(int_of("9223372036854775807", TK_INT) == INT64_MAX);
    CHECK(errors_of("9223372036854775808") == 1);
    CHECK(int_of("512B", TK_BYTES) == 512);
    CHECK(int_of("1.5GB", TK_BYTES) == 1500000000);
    CHECK(int_of("1KiB", TK_BYTES) == 1024);
    CHECK(int_of("1.5KiB", TK_BYTES) == 1536);
    CHECK(int_of("1TiB", TK_BYTES) == 1099511627776LL);
    CHECK(int_of("1PB", TK_BYTES) == 1000000000000000LL);
    CHECK(errors_of("0.3KiB") == 1);
    CHECK(errors_of("9999999PB") == 1);
    CHECK(int_of("30s", TK_DURATION) == 30);
    CHECK(int_of("1.5h", TK_DURATION) == 5400);
    CHECK(int_of("2w", TK_DURATION) == 1209600);
    CHECK(errors_of("0.5s") == 1);
    CHECK(errors_of("12zz") == 1);
    CHECK(errors_of("5mb") == 1);
    unsigned errors;
    Token tok = first("12.5%", &errors);
    CHECK(tok.kind == TK_PERCENT && tok.v.f == 12.5 && errors == 0);
    tok = first("3.25", &errors);
    CHECK(tok.kind == TK_FLOAT && tok.v.f == 3.25 && errors == 0);
}

static void test_times(void)
{
    CHECK(int_of("1970-01-01", TK_TIME) == 0);
    CHECK(int_of("2026-12-01T09:00:00Z", TK_TIME) == 1796115600);
    CHECK(int_of("2026-12-01T11:00:00+02:00", TK_TIME) == 1796115600);
    CHECK(int_of("2026-12-01T09:00:00.999Z", TK_TIME) == 1796115600);
    CHECK(int_of("2024-02-29", TK_TIME) == 1709164800);
    CHECK(errors_of("2026-02-29") == 1);
    CHECK(errors_of("2026-12-01T24:00:00Z") == 1);
    CHECK(errors_of("2026-12-01T09:00") == 1);
    CHECK(int_of("09:30", TK_CLOCK) == 570);
    CHECK(int_of("23:59", TK_CLOCK) == 1439);
    CHECK(errors_of("24:00") == 1);
}

static void test_soft_keywords(void)
{
    int kinds[16];
    kinds_of("event.text", kinds, 16);
    CHECK(kinds[0] == TK_EVENT && kinds[1] == TK_DOT && kinds[2] == TK_ID && kinds[3] == 0);
    kinds_of("{ text: 1, to : 2 }", kinds, 16);
    CHECK(kinds[1] == TK_ID && kinds[5] == TK_ID);
    kinds_of("true and not x in y mod z of w", kinds, 16);
    CHECK(kinds[0] == TK_TRUE && kinds[1] == TK_AND && kinds[2] == TK_NOT && kinds[4] == TK_IN &&
          kinds[6] == TK_MOD && kinds[8] == TK_OF);
    kinds_of("a->b <= c >= d == e != f", kinds, 16);
    CHECK(kinds[1] == TK_ARROW && kinds[3] == TK_LE && kinds[5] == TK_GE && kinds[7] == TK_EQ &&
          kinds[9] == TK_NE);
    /* as names where the keyword cannot stand */
    check_dump("const x = [contains(a, \"b\"), date, flow.name, text, sim.package]\n",
               "(const x (list (call contains a (string \"b\")) date (. flow name) text (. sim package)))\n");
    check_dump("flow f {\n  on sms.mo\n  do {\n    return\n    suspend sim\n  }\n}\n",
               "(flow f\n  (on sms.mo)\n  (do\n    (block\n      (return)\n      (suspend sim))))\n");
}

static void test_strings(void)
{
    check_dump("const s = \"a\\tb\\u{20AC}\\$${1}\"\n",
               "(const s (string \"a\\tb\xe2\x82\xac$\" 1))\n");
    check_dump("const s = \"x ${\"in ${y}\"} z\"\n",
               "(const s (string \"x \" (string \"in \" y) \" z\"))\n");
    check_dump("const s = \"\"\"\n    one\n      two\n\n    three\n    \"\"\"\n",
               "(const s (text \"one\\n  two\\n\\nthree\\n\"))\n");
    check_dump("const s = \"\"\"no newline\"\"\"\n", "(const s (text \"no newline\"))\n");
    check_dump("const s = \"\"\n", "(const s (string))\n");
}

static void test_positions(void)
{
    SourceSet sources;
    src_init(&sources);
    const char *text = "ab\n\xc3\xa9t\xc3\xa9 x\n";
    src_add_text(&sources, "p.flow", text, strlen(text));
    uint32_t line, col;
    src_position(&sources, 0, 0, &line, &col);
    CHECK(line == 1 && col == 1);
    src_position(&sources, 0, 9, &line, &col);   /* the x after two two-byte letters */
    CHECK(line == 2 && col == 5);
    size_t len;
    const char *l2 = src_line(&sources, 0, 2, &len);
    CHECK(len == 7 && memcmp(l2, "\xc3\xa9t\xc3\xa9 x", 7) == 0);
    src_free(&sources);
}

static void test_diagnostic_format(void)
{
    char *out = parse_text("flow f {\n\ton sms.mo\n\twhen event.text ==\n\tdo { stop }\n}\n", NULL);
    CHECK_STR(out, "t.flow:4:2: error: unexpected 'do'; expected an expression\n"
                   "    4 | \tdo { stop }\n"
                   "      | \t^~\n"
                   "1 error, 0 warnings\n");
    free(out);
    out = parse_text("const a = 1 +\n", NULL);
    CHECK_STR(out, "t.flow:2:1: error: unexpected end of file; expected an expression\n"
                   "    2 | \n"
                   "      | ^\n"
                   "1 error, 0 warnings\n");
    free(out);
}

static void test_limits(void)
{
    size_t n = 10000;
    char *text = malloc(2 * n + 16);
    strcpy(text, "const x = ");
    size_t len = strlen(text);
    for (size_t i = 0; i < n; i++) text[len++] = '(';
    text[len++] = '1';
    for (size_t i = 0; i < n; i++) text[len++] = ')';
    text[len] = '\0';
    char *out = parse_text(text, NULL);
    CHECK(strstr(out, "nesting too deep (more than 256 levels)") != NULL);
    free(out);
    free(text);
}

int main(void)
{
    test_numbers();
    test_times();
    test_soft_keywords();
    test_strings();
    test_positions();
    test_diagnostic_format();
    test_limits();
    return testing_done();
}
