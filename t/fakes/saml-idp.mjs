// t/fakes/saml-idp.mjs: a SAML 2.0 Identity Provider for the tests:
// samlify from npm (its IdP entity, templates and signing; schema
// validation by @authenio/samlify-node-xmllint), over plain http on
// loopback. It also crafts the attack responses the SP must refuse.
//
//   node t/fakes/saml-idp.mjs PORT CERT_PEM KEY_PEM OPTIONS_JSON
//
// CERT_PEM, KEY_PEM: the IdP's signing certificate and RSA key (files).
// OPTIONS_JSON:
//   {"entity_id": "http://127.0.0.1:PORT/metadata",   (the default)
//    "sp": {"entity_id": "...", "acs_url": "https://.../acs"},   (needed)
//    "users": {"alice": {"email": "alice@acme.test"}, ...},
//    "extra_certs": [PEM file, ...], "extra_keys": [PEM file, ...],
//    "unlisted": {"cert": PEM file, "key": PEM file},
//    "sign": "assertion" | "response" | "both",
//    "autosubmit": false,
//    "host": "127.0.0.1"}   (the name in its URLs; it listens on 127.0.0.1)
// extra_certs are more signing certificates the metadata lists
// (rollover); extra_keys, parallel to them, let /craft sign with one.
// "unlisted" is a pair the metadata does not list (a stranger's key).
// "sign" is what /sso signs (the assertion by default); "autosubmit"
// adds a one-line script that posts /sso's form (else a browser, or a
// test, presses its "Continue" button). Users: the map's login names,
// "alice" (alice@acme.test) when there is no map.
//
// Endpoints (errors answer 500 with a text message; unknown paths 404):
//   GET /metadata  EntityDescriptor with an IDPSSODescriptor:
//       WantAuthnRequestsSigned="false", one KeyDescriptor use="signing"
//       for CERT_PEM and one per extra_certs, NameIDFormat emailAddress,
//       SingleSignOnService HTTP-Redirect at http://127.0.0.1:PORT/sso.
//   GET /sso?SAMLRequest=...[&RelayState=...][&login=alice]
//       The HTTP-Redirect binding: samlify inflates and schema-checks
//       the AuthnRequest; its Issuer must be sp.entity_id, a Destination
//       this /sso, an AssertionConsumerServiceURL sp.acs_url, a
//       ProtocolBinding HTTP-POST, as a real IdP checks the SP's
//       registration. Answers the HTTP-POST binding's page: a form
//       (POST to the ACS URL, hidden SAMLResponse and RelayState) with
//       a "Continue" button. The response is /craft's "plain" for the
//       user "login" (default alice), InResponseTo the request's ID.
//   POST /craft {JSON}  -> {"SAMLResponse": base64, "xml": the XML,
//       "RelayState": relay_state (when given)}. Body fields, all
//       optional (unknown ones are an error):
//     user           login name (default alice), whose email is the NameID
//     email          the NameID and email attribute instead of user's
//     in_response_to the request ID, or null (the default): unsolicited,
//                    no InResponseTo anywhere
//     destination, recipient, audience, issuer
//                    instead of sp.acs_url (Response Destination,
//                    SubjectConfirmationData Recipient), sp.entity_id,
//                    entity_id
//     not_on_or_after_seconds  Conditions and SubjectConfirmationData
//                    NotOnOrAfter, from now (default 300; negative:
//                    expired). IssueInstant is now, or 5 minutes before
//                    NotOnOrAfter when that is earlier.
//     not_before_seconds  Conditions NotBefore from IssueInstant
//                    (default -60; positive: not valid yet)
//     assertion_id   the (signed) Assertion's ID, for replays
//     sign           "assertion" | "response" | "both" | "none"
//                    (default OPTIONS' sign, else "assertion"; each
//                    variant says which it takes)
//     key            "main" (default), an index into extra_certs (with
//                    its extra_keys file) or "unlisted": the key that
//                    signs, its certificate in the KeyInfo
//     signed_email   the xsw variants' signed user (default
//                    victim-signed@acme.test)
//     relay_state    echoed as "RelayState"
//     authn_context  the AuthnContextClassRef (default
//                    PasswordProtectedTransport), e.g. a multi-factor one
//     variant        one of:
//       plain         as /sso makes it (any sign).
//       unsigned      no signature at all (sign must be absent or none).
//       other_sp      Audience https://other-sp.example/metadata,
//                     Destination and Recipient https://other-sp.example/acs
//                     (a response the IdP made for another SP; any sign).
//       comment_in_nameid  CVE-2017-11427 and kin: signed for
//                     EMAIL.evil.example (a user the attacker may own),
//                     then NameID and email attribute become
//                     EMAIL<!---->.evil.example. Exclusive c14n drops
//                     comments, so the signature still verifies; an SP
//                     reading only the first text node gets EMAIL.
//                     (sign: assertion, response or both)
//       xsw1..xsw8    XML Signature Wrapping, after "On Breaking SAML:
//                     Be Whoever You Want to Be" (Somorovsky et al.,
//                     USENIX Security 2012) as SAML Raider numbers them:
//                     a response validly signed for signed_email is
//                     rearranged around an unsigned look-alike for
//                     user/email (new IDs, same times and audience), so
//                     the signature still verifies over the original
//                     element while an SP that reads "the" assertion
//                     gets the forged one. Trees below (R: the signed
//                     Response, A its Assertion, S the Signature; R', A':
//                     the forgeries, for the target user):
//         xsw1  R'{Issuer, S{SignedInfo→#R, SignatureValue, KeyInfo,
//               R{Issuer, Status, A}}, Status, A'}   (sign "response")
//         xsw2  R'{Issuer, R{Issuer, Status, A}, S→#R, Status, A'}
//               (sign "response"; a detached signature)
//         xsw3  R{Issuer, Status, A', A{Issuer, S→#A, ...}}
//         xsw4  R{Issuer, Status, A'{..., A{Issuer, S→#A, ...}}}
//         xsw5  R{Issuer, Status, A'{Issuer, S→#A, ...}, A{...}}
//         xsw6  R{Issuer, Status, A'{Issuer, S→#A{..., A{...}}, ...}}
//         xsw7  R{Issuer, Extensions{A'}, Status, A{Issuer, S→#A, ...}}
//         xsw8  R{Issuer, Status, A'{Issuer, S→#A{..., Object{A{...}}},
//               ...}}
//               (xsw3-xsw8: sign "assertion", the only one they allow)
//               Unlike SAML Raider, every forgery has an ID of its own
//               (no two elements share one; the reference resolves to
//               the signed element alone), and xsw7's Extensions stands
//               where the schema puts it, before Status. xsw3, xsw5,
//               xsw7, xsw8 are schema-valid; xsw1, xsw2, xsw4, xsw6 are
//               not, as SAML Raider makes them (a schema-checking SP
//               refuses those before it looks at any signature).
//       Every signature of a crafted response is checked with xml-crypto
//       before it is answered: the attacks keep a valid signature.
//   GET /healthz  200 "ok".
// Prints "ready" on stdout once listening.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import http from "node:http";

const require = createRequire(new URL("../browser/package.json", import.meta.url));
const load = async (name) => (await import(require.resolve(name))).default;
const samlify = await load("samlify");
const xmllint = await load("@authenio/samlify-node-xmllint");
const { DOMParser, XMLSerializer } = await load("@xmldom/xmldom");
const { SignedXml } = await load("xml-crypto");

const [port, certFile, keyFile, optionsJson] = process.argv.slice(2);
const opt = JSON.parse(optionsJson ?? "{}");
if (!opt.sp?.entity_id || !opt.sp?.acs_url) throw new Error("saml-idp: OPTIONS_JSON needs sp.entity_id and sp.acs_url");
// "host": the name browsers reach it by (localhost: another site than
// parley's 127.0.0.1, as a company's IdP is).
const base = `http://${opt.host ?? "127.0.0.1"}:${port}`;
const entityId = opt.entity_id ?? `${base}/metadata`;
const ssoUrl = `${base}/sso`;
const users = opt.users ?? { alice: { email: "alice@acme.test" } };
const OTHER_SP = { entity_id: "https://other-sp.example/metadata", acs_url: "https://other-sp.example/acs" };
const VICTIM = "victim-signed@acme.test";

const { Constants, SamlLib } = samlify;
const NS = {
	samlp: Constants.namespace.names.protocol,
	saml: Constants.namespace.names.assertion,
	ds: "http://www.w3.org/2000/09/xmldsig#",
};
const POST = Constants.namespace.binding.post;
const EMAIL_FORMAT = Constants.namespace.format.emailAddress;

// node-xmllint (xmllint in emscripten, run synchronously per call)
// leaves behind, each time, a " " line on stdout, an uncaughtException
// listener and a stdout "drain" listener that would exit the process:
// the wrapper takes them back.
samlify.setSchemaValidator({
	validate(xml) {
		const log = console.log;
		const drain = process.stdout.listeners("drain"), uncaught = process.listeners("uncaughtException");
		console.log = () => {};
		try {
			return xmllint.validate(xml);
		} finally {
			console.log = log;
			for (const l of process.stdout.listeners("drain"))
				if (!drain.includes(l)) process.stdout.removeListener("drain", l);
			for (const l of process.listeners("uncaughtException"))
				if (!uncaught.includes(l)) process.removeListener("uncaughtException", l);
		}
	},
});

// The signing pairs by name: "main", "0", "1", ... (extra_certs[i] and
// extra_keys[i]; no key: listed only) and "unlisted".
const pem = (file) => readFileSync(file, "utf8");
const keys = new Map([["main", { cert: pem(certFile), key: pem(keyFile) }]]);
(opt.extra_certs ?? []).forEach((cert, i) => keys.set(String(i),
    { cert: pem(cert), key: opt.extra_keys?.[i] ? pem(opt.extra_keys[i]) : null }));
const listed = [...keys.values()].map((k) => k.cert);
if (opt.unlisted) keys.set("unlisted", { cert: pem(opt.unlisted.cert), key: pem(opt.unlisted.key) });

// samlify warns, on stderr, of the single logout service we have not.
function quietly(make) {
	const warn = console.warn;
	console.warn = () => {};
	try {
		return make();
	} finally {
		console.warn = warn;
	}
}

function idpEntity(signingCert, privateKey) {
	return quietly(() => samlify.IdentityProvider({
		entityID: entityId,
		signingCert,
		privateKey,
		wantAuthnRequestsSigned: false,
		nameIDFormat: [EMAIL_FORMAT],
		singleSignOnService: [{ Binding: Constants.namespace.binding.redirect, Location: ssoUrl }],
	}));
}

// The IdP of the metadata and of the requests; a signer per key (one
// certificate each: samlify puts its signing certificate in the KeyInfo).
const idp = idpEntity(listed, keys.get("main").key);
const signers = new Map();
function signer(name) {
	const k = keys.get(name);
	if (!k?.key) throw new Error(`no signing key "${name}": "main", an index into extra_certs that has its extra_keys, or "unlisted"`);
	if (!signers.has(name)) signers.set(name, idpEntity(k.cert, k.key));
	return signers.get(name);
}

// The SP as samlify sees it: what it wants signed decides what samlify
// signs (the assertion, then the response).
const sps = new Map();
function spEntity(sign) {
	if (!sps.has(sign)) sps.set(sign, quietly(() => samlify.ServiceProvider({
		entityID: opt.sp.entity_id,
		assertionConsumerService: [{ Binding: POST, Location: opt.sp.acs_url }],
		wantAssertionsSigned: sign !== "response",
		wantMessageSigned: sign !== "assertion",
	})));
	return sps.get(sign);
}

// samlify's login response template, with an AuthnStatement and the
// email attribute.
const AUTHN_STATEMENT = '<saml:AuthnStatement AuthnInstant="{IssueInstant}" SessionIndex="{SessionIndex}">' +
    `<saml:AuthnContext><saml:AuthnContextClassRef>${Constants.namespace.authnContextClassRef.passwordProtectedTransport}` +
    "</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>";
const ATTRIBUTES = SamlLib.attributeStatementBuilder([{
	name: "email",
	nameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
	valueTag: "email",
	valueXsiType: "xs:string",
}]);
const TEMPLATE = SamlLib.defaultLoginResponseTemplate.context
	.replace("{AuthnStatement}", AUTHN_STATEMENT)
	.replace("{AttributeStatement}", ATTRIBUTES);
if (!TEMPLATE.includes("<saml:AuthnStatement") || !TEMPLATE.includes("{attrEmail}"))
	throw new Error("saml-idp: samlify's login response template changed");

const newId = () => `_${randomUUID()}`;
const iso = (ms) => new Date(ms).toISOString();

// The response XML, unsigned; an InResponseTo of null drops both
// attributes (samlify's replaceTagsByValue omits null attributes).
function render(p) {
	const xml = SamlLib.replaceTagsByValue(TEMPLATE, {
		ID: p.responseId,
		AssertionID: p.assertionId,
		Destination: p.destination,
		Audience: p.audience,
		SubjectRecipient: p.recipient,
		Issuer: p.issuer,
		IssueInstant: p.issueInstant,
		StatusCode: Constants.StatusCode.Success,
		ConditionsNotBefore: p.notBefore,
		ConditionsNotOnOrAfter: p.notOnOrAfter,
		SubjectConfirmationDataNotOnOrAfter: p.notOnOrAfter,
		NameIDFormat: EMAIL_FORMAT,
		NameID: p.email,
		InResponseTo: p.inResponseTo,
		SessionIndex: p.sessionIndex,
		attrEmail: p.email,
	});
	// Another AuthnContext class (e.g. a multi-factor one) when asked.
	return p.authnContext === null ? xml
	    : xml.replace(Constants.namespace.authnContextClassRef.passwordProtectedTransport, p.authnContext);
}

// Signed by samlify's IdP: an enveloped RSA-SHA256 signature, exclusive
// c14n, after the Issuer of what it signs.
async function sign(xml, how, key) {
	if (how === "none") return xml;
	const { context } = await signer(key).createLoginResponse(spEntity(how), {}, "post", {},
	    { customTagReplacement: () => ({ context: xml }) });
	return Buffer.from(context, "base64").toString("utf8");
}

// DOM helpers (xmldom, as samlify).
const parse = (xml) => new DOMParser().parseFromString(xml, "text/xml");
const serialize = (node) => new XMLSerializer().serializeToString(node);
function child(el, ns, name) {
	for (let n = el.firstChild; n; n = n.nextSibling)
		if (n.nodeType === 1 && n.namespaceURI === ns && n.localName === name) return n;
	throw new Error(`no ${name} in ${el.localName}`);
}
const after = (ref, node) => ref.parentNode.insertBefore(node, ref.nextSibling);
const all = (doc, ns, name) => Array.from({ length: doc.getElementsByTagNameNS(ns, name).length },
    (_, i) => doc.getElementsByTagNameNS(ns, name).item(i));

// Every signature in the XML must verify with the key's certificate
// (reference digests and value), whatever element it covers.
function checkSignatures(xml, cert) {
	const sigs = all(parse(xml), NS.ds, "Signature");
	sigs.forEach((s, i) => {
		const v = new SignedXml({ publicCert: cert, getCertFromKeyInfo: () => null });
		v.loadSignature(s);
		if (!v.checkSignature(xml)) throw new Error(`saml-idp bug: signature ${i + 1} does not verify`);
	});
	return sigs.length;
}

const FIELDS = {
	user: "string", email: "string", in_response_to: "string", destination: "string", recipient: "string",
	audience: "string", issuer: "string", not_on_or_after_seconds: "number", not_before_seconds: "number",
	assertion_id: "string", sign: "string", key: "string", signed_email: "string", relay_state: "string",
	variant: "string", authn_context: "string",
};

function emailOf(login) {
	const email = Object.hasOwn(users, login) && users[login].email;
	if (!email) throw new Error(`unknown user "${login}"`);
	return email;
}

// The response's values from /craft's body.
function params(b) {
	for (const [k, v] of Object.entries(b)) {
		if (!Object.hasOwn(FIELDS, k)) throw new Error(`unknown field "${k}"`);
		const want = k === "key" && typeof v === "number" ? "number" : FIELDS[k];
		if (v !== null && typeof v !== want) throw new Error(`field "${k}" must be a ${FIELDS[k]}`);
	}
	const other = b.variant === "other_sp";
	const acs = other ? OTHER_SP.acs_url : opt.sp.acs_url;
	const now = Date.now();
	const notOnOrAfter = now + 1000 * (b.not_on_or_after_seconds ?? 300);
	const issued = Math.min(now, notOnOrAfter - 300_000);
	return {
		responseId: newId(),
		assertionId: b.assertion_id ?? newId(),
		issuer: b.issuer ?? entityId,
		destination: b.destination ?? acs,
		recipient: b.recipient ?? acs,
		audience: b.audience ?? (other ? OTHER_SP.entity_id : opt.sp.entity_id),
		inResponseTo: b.in_response_to ?? null,
		email: b.email ?? emailOf(b.user ?? "alice"),
		issueInstant: iso(issued),
		notBefore: iso(issued + 1000 * (b.not_before_seconds ?? -60)),
		notOnOrAfter: iso(notOnOrAfter),
		sessionIndex: newId(),
		authnContext: b.authn_context ?? null,
	};
}

// What to sign: the body's choice among those the variant allows.
function signing(b, allowed, fallback) {
	const how = b.sign ?? fallback;
	if (!allowed.includes(how)) throw new Error(`variant "${b.variant}" takes sign ${allowed.join(" or ")}, not "${how}"`);
	return how;
}
const SIGNED = ["assertion", "response", "both"];
const usual = () => opt.sign ?? "assertion";

// The pieces of a wrapping attack, in one document: the response signed
// for signed_email (R, its Assertion A, the Signature S of what is
// signed) and its unsigned look-alike for the target (R2, A2: new IDs).
async function wrapping(p, b, key, how) {
	const doc = parse(await sign(render({ ...p, email: b.signed_email ?? VICTIM }), how, key));
	const forged = parse(render({ ...p, responseId: newId(), assertionId: newId() }));
	const R = doc.documentElement, A = child(R, NS.saml, "Assertion");
	const R2 = doc.importNode(forged.documentElement, true);
	return { doc, R, A, S: child(how === "response" ? R : A, NS.ds, "Signature"), R2, A2: child(R2, NS.saml, "Assertion") };
}
const responseLevel = (b) => signing(b, ["response"], "response");
const assertionLevel = (b) => signing(b, ["assertion"], "assertion");

const VARIANTS = {
	plain: async (p, b, key) => sign(render(p), signing(b, [...SIGNED, "none"], usual()), key),
	other_sp: async (p, b, key) => sign(render(p), signing(b, [...SIGNED, "none"], usual()), key),
	unsigned: async (p, b) => (signing(b, ["none"], "none"), render(p)),
	comment_in_nameid: async (p, b, key) => {
		const signedAs = `${p.email}.evil.example`;
		const doc = parse(await sign(render({ ...p, email: signedAs }), signing(b, SIGNED, usual()), key));
		for (const el of [...all(doc, NS.saml, "NameID"), ...all(doc, NS.saml, "AttributeValue")]) {
			if (el.textContent !== signedAs) continue;
			while (el.firstChild) el.removeChild(el.firstChild);
			el.appendChild(doc.createTextNode(p.email));
			el.appendChild(doc.createComment(""));
			el.appendChild(doc.createTextNode(".evil.example"));
		}
		return serialize(doc);
	},
	// The signed response inside the forged one's signature.
	xsw1: async (p, b, key) => {
		const { doc, R, S, R2 } = await wrapping(p, b, key, responseLevel(b));
		doc.removeChild(R);
		R.removeChild(S);
		after(child(R2, NS.saml, "Issuer"), S);
		S.appendChild(R);
		return serialize(R2);
	},
	// The signed response before its (now detached) signature.
	xsw2: async (p, b, key) => {
		const { doc, R, S, R2 } = await wrapping(p, b, key, responseLevel(b));
		doc.removeChild(R);
		R.removeChild(S);
		after(child(R2, NS.saml, "Issuer"), S);
		R2.insertBefore(R, S);
		return serialize(R2);
	},
	// The forged assertion first, the signed one after it.
	xsw3: async (p, b, key) => {
		const { R, A, A2 } = await wrapping(p, b, key, assertionLevel(b));
		R.insertBefore(A2, A);
		return serialize(R);
	},
	// The signed assertion inside the forged one, last.
	xsw4: async (p, b, key) => {
		const { R, A, A2 } = await wrapping(p, b, key, assertionLevel(b));
		R.replaceChild(A2, A);
		A2.appendChild(A);
		return serialize(R);
	},
	// The signature in the forged assertion, the signed one after it.
	xsw5: async (p, b, key) => {
		const { R, A, S, A2 } = await wrapping(p, b, key, assertionLevel(b));
		A.removeChild(S);
		after(child(A2, NS.saml, "Issuer"), S);
		R.insertBefore(A2, A);
		return serialize(R);
	},
	// The signature in the forged assertion, the signed one inside it.
	xsw6: async (p, b, key) => {
		const { R, A, S, A2 } = await wrapping(p, b, key, assertionLevel(b));
		R.replaceChild(A2, A);
		A.removeChild(S);
		after(child(A2, NS.saml, "Issuer"), S);
		S.appendChild(A);
		return serialize(R);
	},
	// The forged assertion in the response's Extensions.
	xsw7: async (p, b, key) => {
		const { doc, R, A2 } = await wrapping(p, b, key, assertionLevel(b));
		const ext = doc.createElementNS(NS.samlp, "samlp:Extensions");
		R.insertBefore(ext, child(R, NS.samlp, "Status"));
		ext.appendChild(A2);
		return serialize(R);
	},
	// As xsw6, the signed assertion in a ds:Object of the signature.
	xsw8: async (p, b, key) => {
		const { doc, R, A, S, A2 } = await wrapping(p, b, key, assertionLevel(b));
		R.replaceChild(A2, A);
		A.removeChild(S);
		after(child(A2, NS.saml, "Issuer"), S);
		const object = doc.createElementNS(NS.ds, "ds:Object");
		S.appendChild(object);
		object.appendChild(A);
		return serialize(R);
	},
};

async function craft(b) {
	const variant = b.variant ?? "plain";
	if (!Object.hasOwn(VARIANTS, variant)) throw new Error(`unknown variant "${variant}"`);
	const p = params(b);
	const key = String(b.key ?? "main");
	const xml = await VARIANTS[variant](p, { ...b, variant }, key);
	if (variant !== "unsigned" && b.sign !== "none" && checkSignatures(xml, keys.get(key).cert) === 0)
		throw new Error("saml-idp bug: no signature");
	return xml;
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// The HTTP-Redirect binding in, the HTTP-POST binding out.
async function sso(url) {
	const query = Object.fromEntries(url.searchParams);
	if (!query.SAMLRequest) throw new Error("no SAMLRequest");
	const { extract, samlContent } = await idp.parseLoginRequest(spEntity("assertion"), "redirect", { query });
	const request = extract.request ?? {};
	if (!request.id) throw new Error("AuthnRequest without an ID");
	if (extract.issuer !== opt.sp.entity_id) throw new Error(`AuthnRequest from unknown issuer "${extract.issuer}"`);
	if (request.destination && request.destination !== ssoUrl)
		throw new Error(`AuthnRequest Destination "${request.destination}" is not ${ssoUrl}`);
	const acs = request.assertionConsumerServiceUrl ?? opt.sp.acs_url;
	if (acs !== opt.sp.acs_url) throw new Error(`AssertionConsumerServiceURL "${acs}" is not the SP's ${opt.sp.acs_url}`);
	const binding = parse(samlContent).documentElement.getAttribute("ProtocolBinding");
	if (binding && binding !== POST) throw new Error(`ProtocolBinding "${binding}" is not HTTP-POST`);
	const xml = await craft({ user: query.login ?? "alice", in_response_to: request.id, destination: acs, recipient: acs });
	const fields = { SAMLResponse: Buffer.from(xml).toString("base64"), RelayState: query.RelayState };
	const inputs = Object.entries(fields).filter(([, v]) => v !== undefined)
		.map(([k, v]) => `<input type="hidden" name="${k}" value="${esc(v)}">\n`).join("");
	return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signing in</title></head><body>\n" +
	    `<form method="post" action="${esc(acs)}">\n${inputs}<button type="submit">Continue</button>\n</form>\n` +
	    (opt.autosubmit ? "<script>document.forms[0].submit()</script>\n" : "") + "</body></html>\n";
}

async function readBody(req) {
	const chunks = [];
	let size = 0;
	for await (const c of req) {
		size += c.length;
		if (size > 1 << 20) throw new Error("body too large");
		chunks.push(c);
	}
	return Buffer.concat(chunks).toString("utf8");
}

async function handle(req, res) {
	const url = new URL(req.url, base);
	const send = (status, type, body) => {
		res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
		res.end(body);
	};
	switch (`${req.method} ${url.pathname}`) {
	case "GET /healthz":
		return send(200, "text/plain", "ok");
	case "GET /metadata":
		return send(200, "application/samlmetadata+xml", idp.getMetadata());
	case "GET /sso":
		return send(200, "text/html; charset=utf-8", await sso(url));
	case "POST /craft": {
		const b = JSON.parse(await readBody(req) || "{}");
		if (b === null || typeof b !== "object" || Array.isArray(b)) throw new Error("the body must be a JSON object");
		const xml = await craft(b);
		const out = { SAMLResponse: Buffer.from(xml).toString("base64"), xml };
		if (b.relay_state !== undefined) out.RelayState = b.relay_state;
		return send(200, "application/json", JSON.stringify(out));
	}
	default:
		return send(404, "text/plain", "not found");
	}
}

http.createServer((req, res) => {
	handle(req, res).catch((e) => {
		if (res.headersSent) return res.destroy();
		res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
		res.end(`saml-idp: ${e?.message ?? e}\n`);
	});
}).listen(Number(port), "127.0.0.1", () => process.stdout.write("ready\n"));
