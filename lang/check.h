/*
 * check.h - the type checker: names, scopes, static types with unit
 * arithmetic, the catalog, literal validation (emails, https URLs, ICCIDs),
 * project limits, and the annotations the compiler reads.
 */
#ifndef FLOW_CHECK_H
#define FLOW_CHECK_H

#include <stdbool.h>

#include "ast.h"
#include "diag.h"

/* The most main flows and subs one project may hold. */
#define CHK_MAX_FLOWS 20

/* Checks a parsed project (all its files in one Program), annotating the
 * AST.  Reports to diags; returns the number of errors added. */
int chk_program(Program *prog, DiagSink *diags);

#endif
