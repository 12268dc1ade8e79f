/*
 * json.h - values to and from JSON, by the catalog's types.
 *
 * The JSON conventions of spec/events.md: bytes are integers of bytes,
 * percents numbers of percent (80 is 80%), durations integers of seconds,
 * times RFC 3339 strings, lists arrays, records objects.  Used for SIM
 * records, event payloads, inputs, and the actions a run takes.
 */
#ifndef FLOW_RUNTIME_JSON_H
#define FLOW_RUNTIME_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "../stdlib/arena.h"
#include "../stdlib/catalog.h"
#include "../stdlib/types.h"
#include "../stdlib/value.h"

/* Converts JSON of type `type` into a value whose strings and lists live in
 * `arena`.  Returns 0, or -1 with err set ("expected bytes (an integer), not
 * a string").  Strings meant as email or url are validated. */
int json_to_value(const cJSON *json, const Type *type, Arena *arena, Value *out, char *err, size_t errlen);

/* The JSON form of a value; NULL when out of memory. */
cJSON *json_from_value(const Value *value);

/* Adds an integer member.  cJSON writes every number as a double with
 * "%1.15g" and reads it back to check; this writes the digits, a tenth of
 * the cost, exact beyond 2^53.  NULL when out of memory. */
cJSON *json_add_int(cJSON *object, const char *name, int64_t n);

/* A SIM record from a JSON object: every field of the catalog, those left
 * out taking the catalog's test defaults (data_left: quota - month_usage).
 * Unknown fields are refused.  `sim` holds SIM_NFIELDS values. */
int json_to_sim(const cJSON *object, Arena *arena, Value *sim, char *err, size_t errlen);

/* An event's fields (EVF_ICCID, EVF_TIME, payload) from a JSON object of its
 * payload, the SIM it is about (may be NULL) and its time.  Derivable
 * fields left out are derived (data.usage: quota from the SIM, percent from
 * used and quota); optional ones take their zero value.  `fields` holds
 * EVF_PAYLOAD + ev->nfields values. */
int json_to_event(const cJSON *payload, const CatEvent *ev, const Value *sim, int64_t time, Arena *arena,
                  Value *fields, char *err, size_t errlen);

/* A string value in an arena; NULL when out of memory. */
const VStr *json_str(Arena *arena, const char *text, size_t len);

#endif
