// pow.js: parley's own captcha, solved in the page: a nonce such that
// SHA-256(challenge + "." + nonce) starts with the challenge's zero
// bits (GET /api/v1/auth/challenge; src/pow.c checks it). WebCrypto does
// the hashing; each digest is awaited, so the page stays responsive.
// Nothing goes to a third party. (A Worker would need a Trusted Types
// policy, which this console's CSP allows none of.)

function zeroBits(h) {
	let b = 0;
	for (const x of h) {
		if (x === 0) { b += 8; continue; }
		return b + Math.clz32(x) - 24;
	}
	return b;
}

// Resolves to { token, until } (until: when parleyd stops taking it, by
// this page's clock), or null when the deployment asks for none (404
// captcha_off). Gives up once the challenge has expired.
export async function solveChallenge() {
	const r = await fetch("/api/v1/auth/challenge", { headers: { accept: "application/json" } });
	if (r.status === 404) return null;
	if (!r.ok) throw new Error(`challenge: HTTP ${r.status}`);
	const { challenge, difficulty, expires_in: ttl } = await r.json();
	const until = Date.now() + ttl * 1000;
	const enc = new TextEncoder();
	for (let n = 0; Date.now() < until; n++) {
		const token = `${challenge}.${n}`;
		const h = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(token)));
		if (zeroBits(h) >= difficulty) return { token, until };
	}
	throw new Error("challenge expired unsolved");
}
