/*
 * captcha.h: reCAPTCHA (v2 or v3) verification through libcurl against
 * the configured URL; tests point it at t/fakes/recaptcha.py.
 */
#ifndef PARLEY_CAPTCHA_H
#define PARLEY_CAPTCHA_H

struct conf;

/* Returns 1 if captcha is configured (recaptcha_secret set). */
int captcha_enabled(const struct conf *cfg);
/*
 * Verifies 'token' for client address 'ip'. Returns 0 when the provider
 * says success (and, for v3, score >= recaptcha_min_score), -1 when it
 * says no or the token is missing, -2 when the provider could not be
 * asked (callers fail closed).
 */
int captcha_verify(const struct conf *cfg, const char *token, const char *ip);

#endif
