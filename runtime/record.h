/*
 * record.h - a VmHost that records what a run would do instead of doing it.
 *
 * `flowc run` and `flowc test` hand it to the VM.  Every action is validated
 * as the runtime validates it (addresses, https URLs, one-line subjects) and
 * kept as a JSON object with every resolved field; log lines likewise.
 */
#ifndef FLOW_RUNTIME_RECORD_H
#define FLOW_RUNTIME_RECORD_H

#include <cjson/cJSON.h>

#include "../vm/vm.h"

typedef struct RecHost {
    cJSON *actions;      /* array of {"action": "email", ...} */
    cJSON *log;          /* array of {"line": N, "text": "..."} */
    const char *iccid;   /* the SIM the run is about, for SIM operations; may be NULL */
    VmHost host;         /* pass &rec->host to the VM */
} RecHost;

void rec_init(RecHost *rec);
void rec_free(RecHost *rec);

#endif
