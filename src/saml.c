/*
 * saml.c: SAML 2.0 as a service provider (see saml.h). Lasso (with
 * xmlsec) parses the response and verifies its XML signature against
 * the IdP's metadata, on the element it then gives back (Lasso >= 2.7
 * resolves the signature's reference to the very node it reads:
 * CVE-2021-28091); everything else about the assertion is checked here,
 * field by field, on the objects Lasso verified. parley's AuthnRequests
 * are not signed (no SP key to keep), so nothing in them is secret:
 * their ID is derived from the flow's state by the caller.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lasso/lasso.h>
#include <lasso/xml/misc_text_node.h>
#include <lasso/xml/saml-2.0/samlp2_authn_request.h>
#include <lasso/xml/saml-2.0/samlp2_name_id_policy.h>
#include <lasso/xml/saml-2.0/samlp2_response.h>
#include <lasso/xml/saml-2.0/samlp2_status_code.h>
#include <lasso/xml/saml-2.0/saml2_assertion.h>
#include <lasso/xml/saml-2.0/saml2_attribute.h>
#include <lasso/xml/saml-2.0/saml2_attribute_statement.h>
#include <lasso/xml/saml-2.0/saml2_attribute_value.h>
#include <lasso/xml/saml-2.0/saml2_audience_restriction.h>
#include <lasso/xml/saml-2.0/saml2_authn_context.h>
#include <lasso/xml/saml-2.0/saml2_authn_statement.h>
#include <lasso/xml/saml-2.0/saml2_conditions.h>
#include <lasso/xml/saml-2.0/saml2_name_id.h>
#include <lasso/xml/saml-2.0/saml2_subject.h>
#include <lasso/xml/saml-2.0/saml2_subject_confirmation.h>
#include <lasso/xml/saml-2.0/saml2_subject_confirmation_data.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "conf.h"
#include "saml.h"

#define SAML_META_MAX (200 * 1000) /* bytes of an IdP's metadata */
#define SAML_RESPONSE_MAX (256 * 1024) /* bytes of a base64 response */

/* Lasso, libxml2 and xmlsec log through GLib: not to stderr, where a
 * hostile message's CRITICALs would land; the caller logs a reason. */
static void
quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer u)
{
	(void)domain;
	(void)level;
	(void)msg;
	(void)u;
}

static void
init(void)
{
	static int done;

	if (!done) {
		lasso_init();
		/* LASSO_FLAG=no-verify-signature in the environment would turn
		 * every signature check off: never. */
		lasso_set_flag("verify-signature");
		g_log_set_handler(
		    "Lasso", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL, quiet, NULL);
		g_log_set_handler(NULL, G_LOG_LEVEL_MASK, quiet, NULL);
		done = 1;
	}
}

void
saml_sp_of(const struct conf *cfg, const char *cid, struct saml_sp *sp)
{
	snprintf(sp->entity_id, sizeof(sp->entity_id),
	    "%s/api/v1/sso/saml/%s/metadata", cfg->public_base_url, cid);
	snprintf(sp->acs_url, sizeof(sp->acs_url), "%s/api/v1/sso/saml/%s/acs",
	    cfg->public_base_url, cid);
}

/* 's' with XML's five specials escaped, into 'out' (size 'len'). */
static void
xml_escape(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s != '\0' && o + 7 < len; s++) {
		const char *e = *s == '&' ? "&amp;"
		    : *s == '<'		  ? "&lt;"
		    : *s == '>'		  ? "&gt;"
		    : *s == '"'		  ? "&quot;"
		    : *s == '\''	  ? "&apos;"
					  : NULL;

		if (e != NULL) {
			memcpy(out + o, e, strlen(e));
			o += strlen(e);
		} else
			out[o++] = *s;
	}
	out[o] = '\0';
}

char *
saml_sp_metadata(const struct saml_sp *sp)
{
	char   entity[1200], acs[1200], *out;
	int    n;
	size_t len = 4096;

	xml_escape(sp->entity_id, entity, sizeof(entity));
	xml_escape(sp->acs_url, acs, sizeof(acs));
	if ((out = malloc(len)) == NULL)
		return NULL;
	n = snprintf(out, len,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<md:EntityDescriptor "
	    "xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
	    "entityID=\"%s\">\n"
	    "  <md:SPSSODescriptor AuthnRequestsSigned=\"false\" "
	    "WantAssertionsSigned=\"true\" "
	    "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:"
	    "protocol\">\n"
	    "    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:"
	    "emailAddress</md:NameIDFormat>\n"
	    "    <md:AssertionConsumerService "
	    "Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" "
	    "Location=\"%s\" index=\"0\" isDefault=\"true\"/>\n"
	    "  </md:SPSSODescriptor>\n"
	    "</md:EntityDescriptor>\n",
	    entity, acs);
	if (n < 0 || (size_t)n >= len) {
		free(out);
		return NULL;
	}
	return out;
}

/* The first node of 'xpath' in 'doc' (its text into 'out'), 1; or 0. */
static int
xpath_text(xmlXPathContextPtr x, const char *xpath, char *out, size_t len)
{
	xmlXPathObjectPtr r = xmlXPathEvalExpression((const xmlChar *)xpath, x);
	int		  found = 0;

	if (r != NULL && r->nodesetval != NULL && r->nodesetval->nodeNr > 0) {
		xmlChar *v = xmlNodeGetContent(r->nodesetval->nodeTab[0]);

		if (v != NULL) {
			snprintf(out, len, "%s", (const char *)v);
			found = out[0] != '\0';
			xmlFree(v);
		}
	}
	xmlXPathFreeObject(r);
	return found;
}

int
saml_idp_check(const char *xml, char entity_id[1025], const char **why)
{
	xmlDocPtr	   doc;
	xmlXPathContextPtr x = NULL;
	LassoServer	  *s = NULL;
	struct saml_sp	   sp = { "https://parley.invalid/sp", "" };
	char		   sso[1025], cert[8], *meta;
	int		   rc = -1;

	init();
	*why = "malformed";
	entity_id[0] = '\0';
	if (strlen(xml) > SAML_META_MAX ||
	    (doc = xmlReadMemory(xml, (int)strlen(xml), "idp.xml", NULL,
		 XML_PARSE_NONET | XML_PARSE_NOENT * 0)) == NULL)
		return -1;
	if ((x = xmlXPathNewContext(doc)) == NULL)
		goto out;
	xmlXPathRegisterNs(x, (const xmlChar *)"md",
	    (const xmlChar *)"urn:oasis:names:tc:SAML:2.0:metadata");
	xmlXPathRegisterNs(x, (const xmlChar *)"ds",
	    (const xmlChar *)"http://www.w3.org/2000/09/xmldsig#");
	*why = "no_entity_id";
	if (!xpath_text(x, "/md:EntityDescriptor/@entityID", entity_id, 1025))
		goto out;
	*why = "no_redirect_sso";
	if (!xpath_text(x,
		"/md:EntityDescriptor/md:IDPSSODescriptor/"
		"md:SingleSignOnService"
		"[@Binding='urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect'"
		"]"
		"/@Location",
		sso, sizeof(sso)))
		goto out;
	*why = "no_signing_certificate";
	if (!xpath_text(x,
		"/md:EntityDescriptor/md:IDPSSODescriptor/md:KeyDescriptor"
		"[not(@use) or @use='signing']//ds:X509Certificate",
		cert, sizeof(cert)))
		goto out;
	/* And Lasso must take it. */
	*why = "lasso_refused";
	saml_sp_of(
	    &(struct conf){ .public_base_url = "https://parley.invalid" }, "x",
	    &sp);
	if ((meta = saml_sp_metadata(&sp)) == NULL)
		goto out;
	s = lasso_server_new_from_buffers(meta, NULL, NULL, NULL);
	free(meta);
	if (s == NULL ||
	    lasso_server_add_provider_from_buffer(
		s, LASSO_PROVIDER_ROLE_IDP, xml, NULL, NULL) != 0)
		goto out;
	*why = NULL;
	rc = 0;
out:
	if (s != NULL)
		lasso_server_destroy(s);
	xmlXPathFreeContext(x);
	xmlFreeDoc(doc);
	return rc;
}

/* A Lasso server of parley as 'sp', with the IdP of 'idp_metadata'. */
static LassoServer *
server_of(const struct saml_sp *sp, const char *idp_metadata, const char **why)
{
	LassoServer *s;
	char	    *meta;

	init();
	*why = "sp_metadata";
	if ((meta = saml_sp_metadata(sp)) == NULL)
		return NULL;
	s = lasso_server_new_from_buffers(meta, NULL, NULL, NULL);
	free(meta);
	if (s == NULL)
		return NULL;
	if (lasso_server_add_provider_from_buffer(
		s, LASSO_PROVIDER_ROLE_IDP, idp_metadata, NULL, NULL) != 0) {
		lasso_server_destroy(s);
		*why = "idp_metadata";
		return NULL;
	}
	return s;
}

/* The IdP's entity id: the one provider added. */
static const char *
idp_of(LassoServer *s)
{
	GList	   *keys = g_hash_table_get_keys(s->providers);
	const char *id = keys != NULL ? keys->data : NULL;

	g_list_free(keys);
	return id;
}

char *
saml_authn_request(const struct saml_sp *sp, const char *idp_metadata,
    const char *request_id, const char *relay, const char **why)
{
	LassoServer		   *s;
	LassoLogin		   *login = NULL;
	LassoSamlp2AuthnRequest	   *r;
	LassoSamlp2RequestAbstract *ra;
	char			   *url = NULL;
	int			    rc;

	if ((s = server_of(sp, idp_metadata, why)) == NULL)
		return NULL;
	*why = "request";
	if ((login = lasso_login_new(s)) == NULL)
		goto out;
	/* Unsigned: parley keeps no SP key (and Lasso would need one). */
	lasso_profile_set_signature_hint(
	    LASSO_PROFILE(login), LASSO_PROFILE_SIGNATURE_HINT_FORBID);
	if ((rc = lasso_login_init_authn_request(
		 login, idp_of(s), LASSO_HTTP_METHOD_REDIRECT)) != 0)
		goto out;
	r = LASSO_SAMLP2_AUTHN_REQUEST(LASSO_PROFILE(login)->request);
	ra = LASSO_SAMLP2_REQUEST_ABSTRACT(r);
	g_free(ra->ID);
	ra->ID = g_strdup(request_id);
	if (r->NameIDPolicy != NULL) {
		g_free(r->NameIDPolicy->Format);
		r->NameIDPolicy->Format =
		    g_strdup(LASSO_SAML2_NAME_IDENTIFIER_FORMAT_EMAIL);
		r->NameIDPolicy->AllowCreate = TRUE;
	}
	g_free(r->ProtocolBinding);
	r->ProtocolBinding = g_strdup(LASSO_SAML2_METADATA_BINDING_POST);
	g_free(r->AssertionConsumerServiceURL);
	r->AssertionConsumerServiceURL = g_strdup(sp->acs_url);
	g_free(LASSO_PROFILE(login)->msg_relayState);
	LASSO_PROFILE(login)->msg_relayState = g_strdup(relay);
	if ((rc = lasso_login_build_authn_request_msg(login)) != 0 ||
	    LASSO_PROFILE(login)->msg_url == NULL)
		goto out;
	url = strdup(LASSO_PROFILE(login)->msg_url);
	*why = NULL;
out:
	if (login != NULL)
		lasso_login_destroy(login);
	lasso_server_destroy(s);
	return url;
}

/* An xs:dateTime (UTC, "Z") in Unix seconds, or -1. */
static long long
xs_time(const char *t)
{
	struct tm   tm = { 0 };
	const char *end;

	if (t == NULL || (end = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	if (strcmp(end, "Z") != 0)
		return -1;
	return (long long)timegm(&tm);
}

/* The multi-factor AuthnContext classes parley knows. */
static int
mfa_class(const char *c)
{
	static const char *const mfa[] = {
		"https://refeds.org/profile/mfa",
		"http://schemas.microsoft.com/claims/multipleauthn",
		"urn:oasis:names:tc:SAML:2.0:ac:classes:"
		"MobileTwoFactorContract",
		"urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
	};
	size_t i;

	for (i = 0; c != NULL && i < sizeof(mfa) / sizeof(mfa[0]); i++)
		if (strcmp(c, mfa[i]) == 0)
			return 1;
	return 0;
}

/* The text of the first value of attribute 'name' in 'as' (into 'buf'),
 * or NULL. */
static const char *
attribute(LassoSaml2Assertion *as, const char *name, char *buf, size_t len)
{
	GList *st, *at, *v;

	for (st = as->AttributeStatement; st != NULL; st = st->next)
		for (at = LASSO_SAML2_ATTRIBUTE_STATEMENT(st->data)->Attribute;
		     at != NULL; at = at->next) {
			LassoSaml2Attribute *a = at->data;

			if (!LASSO_IS_SAML2_ATTRIBUTE(a) || a->Name == NULL ||
			    strcmp(a->Name, name) != 0)
				continue;
			/* The whole text of the first value: Lasso keeps each
			 * text node apart, and a comment splits them (the
			 * CVE-2017-11427 class), so read the original node. */
			for (v = a->AttributeValue; v != NULL; v = v->next) {
				xmlNode *x = lasso_node_get_original_xmlnode(
				    LASSO_NODE(v->data));
				xmlChar *t =
				    x != NULL ? xmlNodeGetContent(x) : NULL;

				if (t == NULL)
					continue;
				snprintf(buf, len, "%s", (const char *)t);
				xmlFree(t);
				return buf;
			}
		}
	return NULL;
}

#define SAML2_NS "urn:oasis:names:tc:SAML:2.0:assertion"
#define DSIG_NS "http://www.w3.org/2000/09/xmldsig#"

/* The element children of 'x' named 'name' in namespace 'ns'. */
static int
is_el(const xmlNode *x, const char *ns, const char *name)
{
	return x->type == XML_ELEMENT_NODE && x->ns != NULL &&
	    strcmp((const char *)x->ns->href, ns) == 0 &&
	    strcmp((const char *)x->name, name) == 0;
}

/*
 * The assertion's audiences, on its XML (Lasso drops an
 * AudienceRestriction of several Audiences, which would pass its own
 * check): at least one restriction, each naming 'entity_id'.
 */
static int
audience_ok(const xmlNode *as, const char *entity_id)
{
	const xmlNode *c, *r, *a;
	int	       restrictions = 0;

	if (as == NULL)
		return 0;
	for (c = as->children; c != NULL; c = c->next) {
		if (!is_el(c, SAML2_NS, "Conditions"))
			continue;
		for (r = c->children; r != NULL; r = r->next) {
			int mine = 0;

			if (!is_el(r, SAML2_NS, "AudienceRestriction"))
				continue;
			restrictions++;
			for (a = r->children; a != NULL; a = a->next) {
				xmlChar *t;

				if (!is_el(a, SAML2_NS, "Audience"))
					continue;
				t = xmlNodeGetContent(a);
				if (t != NULL &&
				    strcmp((const char *)t, entity_id) == 0)
					mine = 1;
				xmlFree(t);
			}
			if (!mine)
				return 0;
		}
	}
	return restrictions > 0;
}

/* Whether a signature of 'x' (its own ds:Signature child) uses SHA-1,
 * which this xmlsec build still accepts. */
static int
weak_alg(xmlNode *m)
{
	xmlChar *alg = xmlGetProp(m, (const xmlChar *)"Algorithm");
	int weak = alg != NULL && strstr((const char *)alg, "sha1") != NULL;

	xmlFree(alg);
	return weak;
}

static int
sha1_signed(xmlNode *x)
{
	xmlNode *sig, *si, *m, *d;

	for (sig = x != NULL ? x->children : NULL; sig != NULL; sig = sig->next)
		if (is_el(sig, DSIG_NS, "Signature"))
			for (si = sig->children; si != NULL; si = si->next)
				if (is_el(si, DSIG_NS, "SignedInfo"))
					for (m = si->children; m != NULL;
					     m = m->next) {
						if (weak_alg(m))
							return 1;
						/* Reference/DigestMethod. */
						if (is_el(m, DSIG_NS,
							"Reference"))
							for (d = m->children;
							     d != NULL;
							     d = d->next)
								if (weak_alg(d))
									return 1;
					}
	return 0;
}

/* The checks on the assertion Lasso verified; NULL, or the reason. */
static const char *
check_assertion(const struct saml_sp *sp, const char *idp_entity_id,
    LassoSamlp2Response *resp, LassoSaml2Assertion *as, long long now, int skew,
    struct saml_assertion *a)
{
	LassoSamlp2StatusResponse *sr = LASSO_SAMLP2_STATUS_RESPONSE(resp);
	LassoSaml2SubjectConfirmationData *cd;
	LassoSaml2Conditions		  *c = as->Conditions;
	GList				  *l;
	const char			  *email;
	char				   mail[400];
	long long			   t;

	if (sr->Destination == NULL ||
	    strcmp(sr->Destination, sp->acs_url) != 0)
		return "wrong_destination";
	if (sr->Issuer != NULL &&
	    (sr->Issuer->content == NULL ||
		strcmp(sr->Issuer->content, idp_entity_id) != 0))
		return "wrong_issuer";
	if (as->Issuer == NULL || as->Issuer->content == NULL ||
	    strcmp(as->Issuer->content, idp_entity_id) != 0)
		return "wrong_issuer";
	if (as->ID == NULL || strlen(as->ID) >= sizeof(a->id))
		return "no_id";
	if (as->Subject == NULL || as->Subject->NameID == NULL ||
	    as->Subject->NameID->content == NULL ||
	    strlen(as->Subject->NameID->content) >= sizeof(a->name_id))
		return "no_subject";
	/* Bearer confirmation: for this ACS, in time, for this request. */
	if (as->Subject->SubjectConfirmation == NULL ||
	    (cd = as->Subject->SubjectConfirmation->SubjectConfirmationData) ==
		NULL)
		return "no_confirmation";
	if (as->Subject->SubjectConfirmation->Method == NULL ||
	    strcmp(as->Subject->SubjectConfirmation->Method,
		LASSO_SAML2_CONFIRMATION_METHOD_BEARER) != 0)
		return "not_bearer";
	if (cd->Recipient == NULL || strcmp(cd->Recipient, sp->acs_url) != 0)
		return "wrong_recipient";
	if ((t = xs_time(cd->NotOnOrAfter)) == -1 || t + skew <= now)
		return "expired";
	a->not_on_or_after = t;
	if ((sr->InResponseTo != NULL) != (cd->InResponseTo != NULL) ||
	    (sr->InResponseTo != NULL &&
		strcmp(sr->InResponseTo, cd->InResponseTo) != 0))
		return "wrong_in_response_to";
	if (cd->InResponseTo != NULL) {
		if (strlen(cd->InResponseTo) >= sizeof(a->in_response_to))
			return "wrong_in_response_to";
		snprintf(a->in_response_to, sizeof(a->in_response_to), "%s",
		    cd->InResponseTo);
	}
	/* Conditions: in time, for this SP. */
	if (c == NULL)
		return "no_conditions";
	if (c->NotBefore != NULL &&
	    ((t = xs_time(c->NotBefore)) == -1 || t - skew > now))
		return "not_yet_valid";
	if (c->NotOnOrAfter != NULL &&
	    ((t = xs_time(c->NotOnOrAfter)) == -1 || t + skew <= now))
		return "expired";
	if (c->NotOnOrAfter != NULL && t > a->not_on_or_after)
		a->not_on_or_after = t;
	if (!audience_ok(
		lasso_node_get_original_xmlnode(LASSO_NODE(as)), sp->entity_id))
		return "wrong_audience";
	for (l = as->AuthnStatement; l != NULL; l = l->next) {
		LassoSaml2AuthnStatement *s = l->data;

		if (LASSO_IS_SAML2_AUTHN_STATEMENT(s) &&
		    s->AuthnContext != NULL &&
		    mfa_class(s->AuthnContext->AuthnContextClassRef))
			a->mfa = 1;
	}
	snprintf(a->id, sizeof(a->id), "%s", as->ID);
	snprintf(a->issuer, sizeof(a->issuer), "%s", as->Issuer->content);
	snprintf(
	    a->name_id, sizeof(a->name_id), "%s", as->Subject->NameID->content);
	email = attribute(as, "email", mail, sizeof(mail));
	if (email == NULL)
		email = attribute(as, "urn:oid:0.9.2342.19200300.100.1.3", mail,
		    sizeof(mail));
	if (email == NULL)
		email = a->name_id;
	if (strchr(email, '@') == NULL || strlen(email) >= sizeof(a->email))
		return "no_email";
	snprintf(a->email, sizeof(a->email), "%s", email);
	return NULL;
}

/*
 * Before Lasso: the decoded document has no DTD (no entities to expand)
 * and exactly one Assertion element in it, anywhere: a second one, in
 * Extensions, an Advice or a Signature's Object, is what signature
 * wrapping hides its forgery in, and parley reads only one.
 */
static const char *
shape_ok(const char *b64)
{
	xmlDocPtr	   doc;
	xmlXPathContextPtr x;
	xmlXPathObjectPtr  r;
	unsigned char	  *raw;
	size_t		   n = strlen(b64), len = 0, i;
	const char	  *why = "malformed";
	char		  *clean;
	int		   count = -1;

	if ((clean = malloc(n + 1)) == NULL)
		return "malformed";
	for (i = 0; *b64 != '\0'; b64++)
		if (*b64 != '\r' && *b64 != '\n' && *b64 != ' ' && *b64 != '\t')
			clean[i++] = *b64;
	clean[i] = '\0';
	raw = g_base64_decode(clean, &len);
	free(clean);
	if (raw == NULL || len == 0 || len > SAML_RESPONSE_MAX) {
		g_free(raw);
		return "malformed";
	}
	doc = xmlReadMemory(
	    (const char *)raw, (int)len, "response.xml", NULL, XML_PARSE_NONET);
	g_free(raw);
	if (doc == NULL)
		return "malformed";
	if (xmlGetIntSubset(doc) != NULL) {
		xmlFreeDoc(doc);
		return "doctype";
	}
	if ((x = xmlXPathNewContext(doc)) != NULL) {
		xmlXPathRegisterNs(
		    x, (const xmlChar *)"saml", (const xmlChar *)SAML2_NS);
		r = xmlXPathEvalExpression(
		    (const xmlChar *)"count(//saml:Assertion) + "
				     "count(//saml:EncryptedAssertion)",
		    x);
		if (r != NULL && r->type == XPATH_NUMBER)
			count = (int)r->floatval;
		xmlXPathFreeObject(r);
		xmlXPathFreeContext(x);
	}
	xmlFreeDoc(doc);
	if (count == 1)
		why = NULL;
	else if (count > 1)
		why = "several_assertions";
	else if (count == 0)
		why = "no_assertion";
	return why;
}

int
saml_response_verify(const struct saml_sp *sp, const char *idp_metadata,
    const char *idp_entity_id, const char *response, long long now, int skew,
    struct saml_assertion *a, const char **why)
{
	LassoServer	      *s;
	LassoLogin	      *login = NULL;
	LassoSamlp2Response   *resp;
	LassoNode	      *node = NULL;
	LassoSamlp2StatusCode *sc;
	char		      *copy;
	int		       rc;

	memset(a, 0, sizeof(*a));
	if (response == NULL || strlen(response) > SAML_RESPONSE_MAX) {
		*why = "malformed";
		return -1;
	}
	if ((*why = shape_ok(response)) != NULL)
		return -1;
	if ((s = server_of(sp, idp_metadata, why)) == NULL)
		return -1;
	*why = "malformed";
	if ((login = lasso_login_new(s)) == NULL)
		goto out;
	/*
	 * MAYBE: the Response or else every Assertion must carry a valid
	 * signature by a key of the IdP's metadata, and any signature there
	 * is must verify (FORCE would want both signed). Not zero is a
	 * refusal: Lasso's codes are of both signs.
	 */
	lasso_profile_set_signature_verify_hint(
	    LASSO_PROFILE(login), LASSO_PROFILE_SIGNATURE_VERIFY_HINT_MAYBE);
	while (*response == ' ' || *response == '\t' || *response == '\r' ||
	    *response == '\n')
		response++;
	if ((copy = strdup(response)) == NULL)
		goto out;
	rc = lasso_login_process_authn_response_msg(login, copy);
	free(copy);
	if (rc != 0) {
		*why = rc == LASSO_DS_ERROR_SIGNATURE_NOT_FOUND ? "not_signed"
		    : rc == LASSO_DS_ERROR_SIGNATURE_VERIFICATION_FAILED ||
			rc == LASSO_DS_ERROR_INVALID_REFERENCE_FOR_SAML ||
			rc == LASSO_PROFILE_ERROR_CANNOT_VERIFY_SIGNATURE
		    ? "bad_signature"
		    : rc == LASSO_PROFILE_ERROR_STATUS_NOT_SUCCESS ||
			rc == LASSO_PROFILE_ERROR_REQUEST_DENIED ||
			rc == LASSO_PROFILE_ERROR_MISSING_STATUS_CODE
		    ? "status"
		    : rc == LASSO_SERVER_ERROR_PROVIDER_NOT_FOUND ||
			rc == LASSO_PROFILE_ERROR_INVALID_ISSUER ||
			rc == LASSO_PROFILE_ERROR_MISSING_ISSUER
		    ? "wrong_issuer"
		    : rc == LASSO_PROFILE_ERROR_MISSING_ASSERTION
		    ? "no_assertion"
		    : rc == LASSO_PROFILE_ERROR_MISSING_SUBJECT ? "no_subject"
								: "malformed";
		goto out;
	}
	resp = LASSO_SAMLP2_RESPONSE(LASSO_PROFILE(login)->response);
	*why = "status";
	if (!LASSO_IS_SAMLP2_RESPONSE(resp) ||
	    LASSO_SAMLP2_STATUS_RESPONSE(resp)->Status == NULL ||
	    (sc = LASSO_SAMLP2_STATUS_RESPONSE(resp)->Status->StatusCode) ==
		NULL ||
	    sc->Value == NULL ||
	    strcmp(sc->Value, LASSO_SAML2_STATUS_CODE_SUCCESS) != 0)
		goto out;
	/* The assertion Lasso verified, and no other. */
	*why = "no_assertion";
	if ((node = lasso_login_get_assertion(login)) == NULL ||
	    !LASSO_IS_SAML2_ASSERTION(node) ||
	    g_list_length(resp->Assertion) != 1 ||
	    resp->Assertion->data != (gpointer)node ||
	    resp->EncryptedAssertion != NULL)
		goto out;
	*why = "weak_signature";
	if (sha1_signed(lasso_node_get_original_xmlnode(LASSO_NODE(resp))) ||
	    sha1_signed(lasso_node_get_original_xmlnode(node)))
		goto out;
	if ((*why = check_assertion(sp, idp_entity_id, resp,
		 LASSO_SAML2_ASSERTION(node), now, skew, a)) != NULL)
		goto out;
	rc = 0;
	g_object_unref(node);
	lasso_login_destroy(login);
	lasso_server_destroy(s);
	return rc;
out:
	if (node != NULL)
		g_object_unref(node);
	if (login != NULL)
		lasso_login_destroy(login);
	lasso_server_destroy(s);
	return -1;
}
