/*
 * opcodes.c - the tables generated from FLOW_OPCODES: names, formats, docs
 * and operand roles.  Nothing here is written by hand per opcode.
 */
#include "opcodes.h"

const char *const op_names[OP_NOPCODES] = {
#define OP_NAME(name, fmt, a, b, c, doc) #name,
    FLOW_OPCODES(OP_NAME)
#undef OP_NAME
};

const OpFormat op_formats[OP_NOPCODES] = {
#define OP_FMT(name, fmt, a, b, c, doc) fmt,
    FLOW_OPCODES(OP_FMT)
#undef OP_FMT
};

const char *const op_docs[OP_NOPCODES] = {
#define OP_DOC(name, fmt, a, b, c, doc) doc,
    FLOW_OPCODES(OP_DOC)
#undef OP_DOC
};

const OpRoles op_roles[OP_NOPCODES] = {
#define OP_ROLES(name, fmt, a, b, c, doc) { OPR_##a, OPR_##b, OPR_##c },
    FLOW_OPCODES(OP_ROLES)
#undef OP_ROLES
};
