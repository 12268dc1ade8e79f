/* test_webhook_sign.c - Standard Webhooks signatures against vectors computed
 * with Python's hmac module and the specification's own example. */
#include "../../runtime/webhook_sign.h"
#include "testing.h"

#define BODY "{\"test\": 2432232314}"
#define ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define TS 1614265330

int main(void)
{
    char sig[WHK_SIG_MAX], header[WHK_HEADER_MAX];
    /* the specification's example */
    CHECK(whk_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", ID, TS, BODY, strlen(BODY), sig) == 0);
    CHECK_STR(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /* python3: hmac.new(bytes(range(32)), b"ID.TS.BODY", hashlib.sha256) */
    const char *s1 = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const char *s2 = "whsec_////////////////////////////////";
    CHECK(whk_sign(s1, ID, TS, BODY, strlen(BODY), sig) == 0);
    CHECK_STR(sig, "v1,O4Gjv1HqPqsMrjmczoggs/sWA8gZD0VyHG+fLh4+ktI=");
    CHECK(whk_sign(s2, ID, TS, BODY, strlen(BODY), sig) == 0);
    CHECK_STR(sig, "v1,eL/gpXcambmugWW0fEr6dJPrV+sLfbAEh5miaI4XLrA=");
    /* a rotation: one signature per secret, the current first */
    CHECK(whk_signature_header("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= whsec_////////////////////////////////",
                               ID, TS, BODY, strlen(BODY), header) == 0);
    CHECK_STR(header, "v1,O4Gjv1HqPqsMrjmczoggs/sWA8gZD0VyHG+fLh4+ktI= v1,eL/gpXcambmugWW0fEr6dJPrV+sLfbAEh5miaI4XLrA=");
    /* bad secrets */
    unsigned char key[WHK_KEY_MAX];
    CHECK(whk_secret_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key) == -1);     /* no prefix */
    CHECK(whk_secret_decode("whsec_", key) == -1);
    CHECK(whk_secret_decode("whsec_AAAA", key) == -1);                           /* 3 bytes: too short */
    CHECK(whk_secret_decode("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!", key) == -1);
    CHECK(whk_secret_decode("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", key) == 32);
    CHECK(whk_sign("whsec_x", ID, TS, BODY, strlen(BODY), sig) == -1);
    CHECK(whk_signature_header("", ID, TS, BODY, strlen(BODY), header) == -1);
    /* new secrets decode to WHK_KEY_NEW bytes and differ */
    char a[WHK_SECRET_MAX], b[WHK_SECRET_MAX];
    CHECK(whk_secret_new(a) == 0 && whk_secret_new(b) == 0);
    CHECK(whk_secret_decode(a, key) == WHK_KEY_NEW);
    CHECK(strcmp(a, b) != 0);
    whk_cache_free();
    return testing_done();
}
