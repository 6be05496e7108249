/*
 * saml.h: SAML 2.0 Web Browser SSO as a service provider, through Lasso
 * (Debian's liblasso3; issue 17, item 3). parley sends unsigned
 * AuthnRequests by the HTTP-Redirect binding and takes responses by the
 * HTTP-POST binding. Lasso verifies the XML signature (the Response's or
 * the Assertion's, with any signing certificate the IdP's metadata
 * lists: a rollover); parley then checks the rest itself, on the
 * assertion Lasso verified: Issuer, Destination, Recipient, Audience,
 * NotBefore/NotOnOrAfter, InResponseTo; the caller refuses replays by
 * the assertion id.
 */
#ifndef PARLEY_SAML_H
#define PARLEY_SAML_H

struct conf;

/* parley as a company's service provider. */
struct saml_sp {
	char entity_id[600]; /* its metadata's URL */
	char acs_url[600];
};

void saml_sp_of(const struct conf *cfg, const char *cid, struct saml_sp *sp);

/* parley's SP metadata (a new string), or NULL. */
char *saml_sp_metadata(const struct saml_sp *sp);

/*
 * Checks IdP metadata 'xml': Lasso must load it, and it must have an
 * IDPSSODescriptor with an HTTP-Redirect SingleSignOnService and a
 * signing certificate. Its entity id into 'entity_id'. 0, or -1 with a
 * reason in '*why'.
 */
int saml_idp_check(const char *xml, char entity_id[1025], const char **why);

/*
 * The URL to send the browser to: the IdP's HTTP-Redirect endpoint with
 * an AuthnRequest of ID 'request_id' and RelayState 'relay'. A new
 * string, or NULL with '*why'.
 */
char *saml_authn_request(const struct saml_sp *sp, const char *idp_metadata,
    const char *request_id, const char *relay, const char **why);

/* What a verified assertion says. */
struct saml_assertion {
	char	  id[257];
	char	  issuer[1025];
	char	  name_id[321]; /* an e-mail address (emailAddress format) */
	char	  email[321]; /* the email attribute, or the NameID */
	char	  in_response_to[129]; /* "" when unsolicited */
	long long not_on_or_after; /* Unix seconds: keep the id until then */
	int	  mfa; /* a multi-factor AuthnContextClassRef */
};

/*
 * Verifies base64 HTTP-POST 'response' from the IdP of 'idp_metadata'
 * (entity 'idp_entity_id') for 'sp' at time 'now' (seconds, 'skew'
 * allowed): a signed Response or Assertion, status Success, the checks
 * above. 0 with 'a' filled, or -1 with a stable reason in '*why'
 * (malformed, not_signed, bad_signature, status, wrong_issuer,
 * wrong_destination, wrong_recipient, wrong_audience, expired,
 * not_yet_valid, no_subject, no_email, ...).
 */
int saml_response_verify(const struct saml_sp *sp, const char *idp_metadata,
    const char *idp_entity_id, const char *response, long long now, int skew,
    struct saml_assertion *a, const char **why);

#endif
