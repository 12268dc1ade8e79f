/*
 * parse.h - the front end's reading half: the lexer (lexer.re, re2c), the
 * grammar (grammar.y, lemon) and the driver (parse.c) that runs them over a
 * source file, decodes strings and their ${} interpolations, and recovers
 * from errors so that several independent errors are all reported.
 *
 * Not the checker: a parsed declaration is well-formed, not meaningful.
 * Declarations with any lexical or syntax error are reported and left out of
 * the Program, so that the checker only ever sees well-formed ones.
 */
#ifndef FLOW_PARSE_H
#define FLOW_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "ast.h"
#include "diag.h"
#include "source.h"

/* ------------------------------------------------------------ limits */

/* The deepest nesting of ( [ { and ${ } in source; past it one error says
 * "nesting too deep" and the declaration is skipped. */
#define PARSE_MAX_NESTING 256
/* The deepest tree (expressions and statements, counted together) a
 * declaration may build: long operator chains and `else if` ladders. */
#define PARSE_MAX_HEIGHT 1024
/* The longest identifier, in bytes. */
#define LEX_MAX_IDENT 256

/* ------------------------------------------------------------ entry */

/* Parses file `file` of prog->sources into prog, reporting to diags.
 * Returns the number of errors added. */
int parse_file(Program *prog, DiagSink *diags, uint32_t file);

/* ------------------------------------------------------------ tokens */
/* The rest is shared by lexer.re, grammar.y and parse.c only. */

typedef struct Token {
    int kind;            /* TK_* from grammar.h; 0 at the end */
    Span span;
    bool bol;            /* first token on its line */
    unsigned flags;      /* STRING: LEX_STR_* */
    union {
        int64_t i;       /* INT BYTES DURATION TIME; CLOCK: minutes; action of an `expect` word */
        double f;        /* FLOAT PERCENT */
        Expr *str;       /* STRING: decoded by the driver before the parser sees it */
    } v;
} Token;                 /* 32 bytes: tokens are copied by value to lemon and back */

enum {
    LEX_STR_TRIPLE = 1,  /* """...""" */
    LEX_STR_BAD = 2,     /* unterminated or too deep: already reported, decode as "" */
    LEX_HAD_ERROR = 4,   /* a lexical error was reported while reading this token */
    LEX_SOFT = 8         /* a soft keyword (lex_is_soft_keyword), flagged by the lexer that
                            found it: the driver asks for every token */
};

/* Offsets of every error reported while parsing one file, so that the
 * declarations holding one are left out. */
typedef struct ParseErrs {
    uint32_t *offs;
    unsigned n, cap;
    bool saturated;      /* too many to keep: every later declaration is dropped */
} ParseErrs;

typedef struct Lexer {
    SourceSet *sources;
    DiagSink *diags;
    ParseErrs *errs;
    const unsigned char *text;   /* the whole file, NUL-terminated */
    uint32_t len;
    uint32_t file;
    uint32_t pos;
    bool newline;        /* a line end was crossed since the last token */
    int prev_kind;
} Lexer;

void lex_init(Lexer *lx, SourceSet *sources, DiagSink *diags, ParseErrs *errs, uint32_t file,
              uint32_t start);
Token lex_next(Lexer *lx);
/* Given the offset just past a "${" of a well-formed string, returns the
 * offset of the "}" that closes it. */
uint32_t lex_interp_end(const Lexer *lx, uint32_t pos);
/* How a token kind is written in messages: "'flow'", "'}'", "a name". */
const char *lex_kind_text(int kind);
/* Is the word (letters, digits, _) read as a name where an expression
 * starts: not too long, and no keyword or a soft one? */
bool lex_word_is_name(const unsigned char *text, size_t len);
/* Is the kind a keyword that may also serve as a name? */
bool lex_is_soft_keyword(int kind);
/* Reports an error (and remembers its offset for the declaration check). */
Diag *lex_error(Lexer *lx, Span span, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void parse_errs_note(ParseErrs *errs, uint32_t off);

/* ------------------------------------------------------------ driver */

/* A remembered answer of FlowParseAcceptsDirectly: it depends only on the
 * kind and on the states of the top of the stack that its simulation read,
 * the top and `depth` below it, and the same few recur at every statement. */
enum { PARSE_MEMO_SIZE = 512, PARSE_MEMO_DEPTH = 12 };
typedef struct ParseMemo {
    uint16_t top;        /* the state on top, plus 1: 0 is an empty entry */
    uint8_t kind;
    uint8_t depth;
    bool accepts;
    uint16_t below[PARSE_MEMO_DEPTH];   /* the states under the top, nearest first */
} ParseMemo;

/* Memory a file's parser and the parsers of its ${} interpolations share,
 * reused from string to string instead of allocated for each. */
typedef struct ParseScratch {
    ParseMemo memo[PARSE_MEMO_SIZE];
    StrPart *parts;      /* a stack: a string's parts sit above those of the string around it */
    unsigned nparts, parts_cap;
    char *lit;           /* the literal being decoded, once it differs from the source */
    size_t lit_len, lit_cap;
    void *lemons[PARSE_MAX_NESTING + 1];   /* the interpolation parser of each nesting level, once made */
} ParseScratch;

typedef struct Parser {
    Program *prog;
    DiagSink *diags;
    ParseErrs *errs;
    Lexer *lx;
    ParseScratch *scratch;
    uint32_t file;
    bool quiet;          /* an error was reported on this line: say nothing more until the next */
    bool recovering;     /* a syntax error was reported in the current declaration:
                            report no more until the next one */
    bool failed;         /* lemon gave up: skip to the next declaration */
    uint32_t range_end;  /* interpolation: the "}" that ends the expression */
    int depth;           /* open ( [ { */
    int base_depth;      /* nesting of the enclosing strings */
    int prefix_run;      /* consecutive prefix operators */
    int prev_kind;       /* the token fed before */
    Span open[PARSE_MAX_NESTING];
    int open_kind[PARSE_MAX_NESTING];
    Expr *result;        /* the expression-only entry's result */
} Parser;

/* Called by grammar.y's actions and directives. */
void parse_add_decl(Parser *p, Decl *decl);
void parse_syntax_error(Parser *p, int kind, const Token *tok, const bool *expected, int ntokens);
void parse_stack_overflow(Parser *p);
Ident parse_test_title(Parser *p, const Token *tok);

/* lemon's entry points (grammar.y: %name FlowParse) */
void *FlowParseAlloc(void *(*alloc)(size_t), Parser *p);
void FlowParse(void *parser, int kind, Token tok);
void FlowParseFree(void *parser, void (*release)(void *));
bool FlowParseAcceptsDirectly(void *parser, int kind);
void FlowParseReset(void *parser, Parser *p);

#endif
