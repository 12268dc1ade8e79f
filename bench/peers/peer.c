/* peer.c: the peer workload (see bench/README.md, part 2) in plain C.
 * Arrays and bitmasks, no VM: the physical reference for the Flow benchmark.
 * Only the 2,000,000-event evaluation loop is timed.
 * Build: cc -O2 -o peer_c peer.c
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NSIMS 100000
#define NFLOWS 50
#define NEVENTS 2000000
#define NSTATIC 1000
#define BITWORDS ((NSIMS + 63) / 64)

#define EXPECT_FIRES 43176u
#define EXPECT_HASH 1175160724u
#define EXPECT_LEN 1760021u

static uint32_t rng_state = 2463534242u;

static inline uint32_t rnd(void)
{
    uint32_t s = rng_state;
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    rng_state = s;
    return s;
}

enum scope_kind { SCOPE_ALL, SCOPE_TAG, SCOPE_PACKAGE, SCOPE_SET };

struct flow {
    int kind;
    int scope_arg;          /* tag index or package index */
    uint64_t *scope_set;    /* SCOPE_SET: bitmask over SIM indices */
    int thr;                /* percent */
    int need_active;        /* f even: SIM must be active */
    uint32_t need_tag_mask; /* f odd: SIM must have this tag */
    uint64_t *edge;         /* previous in-scope condition, per SIM */
};

/* SIMs as parallel arrays */
static char iccid[NSIMS][21];
static int64_t quota[NSIMS];
static int64_t used[NSIMS];
static uint32_t tags[NSIMS]; /* bit t set: SIM has tag "T<t>" */
static uint8_t package[NSIMS];
static uint8_t active[NSIMS];

static struct flow flows[NFLOWS];

static inline int bit_get(const uint64_t *b, uint32_t i)
{
    return (int)((b[i >> 6] >> (i & 63)) & 1u);
}
static inline void bit_set(uint64_t *b, uint32_t i) { b[i >> 6] |= (uint64_t)1 << (i & 63); }
static inline void bit_clear(uint64_t *b, uint32_t i) { b[i >> 6] &= ~((uint64_t)1 << (i & 63)); }

/* Luhn check digit for a digit string (the check digit is appended on the right) */
static int luhn_digit(const char *digits, int n)
{
    int sum = 0, dbl = 1;
    for (int k = n - 1; k >= 0; k--) {
        int d = digits[k] - '0';
        if (dbl) {
            d *= 2;
            if (d > 9) d -= 9;
        }
        sum += d;
        dbl = !dbl;
    }
    return (10 - sum % 10) % 10;
}

static void setup(void)
{
    for (uint32_t i = 0; i < NSIMS; i++) {
        snprintf(iccid[i], sizeof iccid[i], "8944100030%09u", i);
        iccid[i][19] = (char)('0' + luhn_digit(iccid[i], 19));
        iccid[i][20] = '\0';
        quota[i] = (int64_t)(1 + rnd() % 5) * 1000000000;
        uint32_t ntags = 1 + rnd() % 3;
        uint32_t t = 0;
        for (uint32_t k = 0; k < ntags; k++) t |= 1u << (rnd() % 20);
        tags[i] = t;
        package[i] = (uint8_t)(rnd() % 10);
        active[i] = (rnd() % 100) < 95;
        used[i] = 0;
    }
    for (int f = 0; f < NFLOWS; f++) {
        struct flow *fl = &flows[f];
        fl->kind = f % 4;
        fl->scope_set = NULL;
        switch (fl->kind) {
        case SCOPE_TAG: fl->scope_arg = f % 20; break;
        case SCOPE_PACKAGE: fl->scope_arg = f % 10; break;
        case SCOPE_SET:
            fl->scope_set = calloc(BITWORDS, sizeof(uint64_t));
            for (uint32_t k = 0; k < NSTATIC; k++)
                bit_set(fl->scope_set, ((uint32_t)f * 7919u + k * 97u) % NSIMS);
            break;
        default: fl->scope_arg = 0; break;
        }
        fl->thr = 50 + (f % 5) * 10;
        fl->need_active = (f % 2) == 0;
        fl->need_tag_mask = 1u << ((f + 3) % 20);
        fl->edge = calloc(BITWORDS, sizeof(uint64_t));
        if (!fl->edge || (fl->kind == SCOPE_SET && !fl->scope_set)) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
    }
}

static inline int in_scope(const struct flow *fl, uint32_t si)
{
    switch (fl->kind) {
    case SCOPE_ALL: return 1;
    case SCOPE_TAG: return (tags[si] >> fl->scope_arg) & 1u;
    case SCOPE_PACKAGE: return package[si] == fl->scope_arg;
    default: return bit_get(fl->scope_set, si);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
    setup();

    uint64_t fires = 0, len = 0, h = 0;
    char text[128];

    double t0 = now_s();
    for (uint32_t e = 0; e < NEVENTS; e++) {
        uint32_t si = rnd() % NSIMS;
        used[si] += rnd() % 50000000u;
        int64_t q = quota[si];
        if (used[si] > q + q / 5) used[si] = 0; /* new billing cycle */
        int64_t u100 = used[si] * 100;
        for (int f = 0; f < NFLOWS; f++) {
            struct flow *fl = &flows[f];
            if (!in_scope(fl, si)) continue;
            int cond = u100 >= q * fl->thr &&
                       (fl->need_active ? active[si] != 0 : (tags[si] & fl->need_tag_mask) != 0);
            int was = bit_get(fl->edge, si);
            if (cond && !was) {
                bit_set(fl->edge, si);
                int n = snprintf(text, sizeof text, "SIM %s at %lld%% (flow %d)", iccid[si],
                                 (long long)(u100 / q), f);
                fires++;
                len += (uint64_t)n;
                for (int k = 0; k < n; k++) h = (h * 31 + (unsigned char)text[k]) % 2147483647u;
            } else if (!cond && was) {
                bit_clear(fl->edge, si);
            }
        }
    }
    double secs = now_s() - t0;

    printf("peer=c events=%d seconds=%.3f events_per_s=%.0f fires=%llu hash=%llu len=%llu\n",
           NEVENTS, secs, NEVENTS / secs, (unsigned long long)fires, (unsigned long long)h,
           (unsigned long long)len);
    int ok = fires == EXPECT_FIRES && h == EXPECT_HASH && len == EXPECT_LEN;
    return ok ? 0 : 1;
}
