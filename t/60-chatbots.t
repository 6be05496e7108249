# Chatbots, response templates and the knowledge base: who may do what,
# validation, rotation of the widget key and identity secret, documents
# (text, Markdown, HTML reduced to text), size limits, audit entries.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;

my $t = ParleyTest->new(env => { PARLEY_KB_COMPANY_MAX => 200000, PARLEY_KB_DOCUMENT_MAX => 65536 });
my $pw = 'tangerine-orbit-velvet-42';
my $own = $t->signup(json => { email => 'bots@co.example', password => $pw,
    name => 'Bo Bots', company_name => 'Bots Co' })->{json};
my $cid = $own->{company}{id};
my $auth = { authorization => "Bearer $own->{access_token}" };
my $hash = $t->sql('SELECT password_hash FROM users WHERE id = ?', $own->{user}{id})->[0]{password_hash};
$t->sql(q{INSERT INTO users (company_id, email, name, role, password_hash) VALUES (?, 'mem@co.example', 'Mo Member', 'member', ?)},
    $cid, $hash);
my $mem = $t->post('/api/v1/auth/login', json => { email => 'mem@co.example', password => $pw })->{json};
my $mauth = { authorization => "Bearer $mem->{access_token}" };

sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h, defined $j ? (json => $j) : ()) }
sub audit { $t->sql(q{SELECT action, resource_id, changed_fields AS fields, changes FROM audit_log WHERE company_id = ? AND action = ? ORDER BY seq}, $cid, $_[0]) }

# --- chatbots -----------------------------------------------------------
my $r = req('POST', '/api/v1/chatbots', $auth, { name => 'Support', prompt_template => 'Be kind.',
    welcome_message => 'Hi! How can I help?', allowed_origins => ['https://shop.example', 'http://localhost:3000'],
    language => 'english', temperature => 0.3, max_tokens => 300 });
is $r->{status}, 201, 'an owner creates a chatbot';
my $bot = $r->{json};
like $bot->{public_key}, qr/^pk_[0-9a-f]{32}$/, 'with a public widget key';
like $bot->{identity_secret}, qr/^[A-Za-z0-9_-]{43}$/, 'and its identity secret, shown once';
is_deeply $bot->{allowed_origins}, ['https://shop.example', 'http://localhost:3000'], 'origins kept';
is $bot->{temperature}, 0.3, 'temperature kept';
is $bot->{model}, undef, 'no model: the deployment default';
is_deeply $bot->{handoff_keywords}, [qw(human agent person operator)], 'default handoff keywords';
my $stored = $t->sql('SELECT identity_secret_enc FROM chatbots WHERE id = ?', $bot->{id})->[0]{identity_secret_enc};
unlike $stored, qr/\Q$bot->{identity_secret}\E/, 'the identity secret is stored encrypted';
like $stored, qr/^v1\./, '... as keyring ciphertext';
$r = req('GET', "/api/v1/chatbots/$bot->{id}", $mauth);
is $r->{status}, 200, 'a member reads a chatbot';
ok !exists $r->{json}{identity_secret}, '... without the identity secret';
is scalar @{ req('GET', '/api/v1/chatbots', $mauth)->{json}{items} }, 1, 'a member lists chatbots';
is req('POST', '/api/v1/chatbots', $mauth, { name => 'Nope' })->{status}, 403, 'a member cannot create one';

for my $bad (['https://shop.example/', 'a path'], ['HTTPS://SHOP.EXAMPLE', 'upper case'], ['*', 'a wildcard'],
    ['https://shop.example:0', 'port 0'], ['ftp://shop.example', 'another scheme'], ['https://', 'no host'],
    ['https://shop.example:99999', 'a port out of range'], ["https://shop.example\n", 'a newline']) {
	$r = req('POST', '/api/v1/chatbots', $auth, { name => 'X', allowed_origins => [$bad->[0]] });
	is $r->{status}, 422, "an origin with $bad->[1]: 422";
}
is req('POST', '/api/v1/chatbots', $auth, { name => 'X', language => 'klingon' })->{status}, 422, 'an unknown language: 422';
is req('POST', '/api/v1/chatbots', $auth, { name => 'X', temperature => 3 })->{status}, 422, 'temperature out of range: 422';
is req('POST', '/api/v1/chatbots', $auth, { prompt_template => 'x' })->{status}, 422, 'no name: 422';
is req('POST', '/api/v1/chatbots', $auth, { name => 'X', surprise => 1 })->{status}, 422, 'an unknown member: 422';
is $t->sql('SELECT count(*) AS n FROM chatbots')->[0]{n}, 1, 'refused requests created nothing';

$r = req('PATCH', "/api/v1/chatbots/$bot->{id}", $auth, { name => 'Helpdesk', model => 'gpt-4o', require_verified => JSON::PP::true });
is $r->{status}, 200, 'patch';
is $r->{json}{name}, 'Helpdesk', '... changes what was sent';
is $r->{json}{prompt_template}, 'Be kind.', '... and keeps the rest';
is $r->{json}{model}, 'gpt-4o', '... a model';
my ($upd) = @{ audit('chatbot.update') };
is_deeply [sort @{ decode_json($upd->{fields}) }], [qw(model name require_verified)], 'audited by field name';
is decode_json($upd->{changes})->{model}{new}, 'gpt-4o', '... with values of non-personal settings';
ok !exists decode_json($upd->{changes})->{name}, '... and not of the name';
$r = req('PATCH', "/api/v1/chatbots/$bot->{id}", $auth, { model => undef, require_verified => JSON::PP::false });
is $r->{json}{model}, undef, 'model null: back to the default';

my $old_key = $bot->{public_key};
$r = req('POST', "/api/v1/chatbots/$bot->{id}/rotate-key", $auth);
is $r->{status}, 200, 'rotate the widget key';
isnt $r->{json}{public_key}, $old_key, '... a new one';
my $origin = { origin => 'https://shop.example' };
is $t->post('/api/v1/widget/sessions', headers => $origin, json => { bot_key => $old_key })->{status}, 403,
    'the old key opens no session';
is $t->post('/api/v1/widget/sessions', headers => $origin, json => { bot_key => $r->{json}{public_key} })->{status}, 201,
    'the new one does';
$r = req('POST', "/api/v1/chatbots/$bot->{id}/rotate-identity-secret", $auth);
isnt $r->{json}{identity_secret}, $bot->{identity_secret}, 'rotate the identity secret: a new one, shown once';
is scalar @{ audit('chatbot.rotate_key') }, 1, 'rotations audited';
is scalar @{ audit('chatbot.rotate_identity_secret') }, 1, '... both';
is scalar @{ audit('chatbot.create') }, 1, 'creation audited';

# --- templates ----------------------------------------------------------
$r = req('POST', '/api/v1/templates', $auth, { name => 'Refunds', body => "Refunds take 5 days.\nThanks!" });
is $r->{status}, 201, 'an admin creates a template';
my $tpl = $r->{json}{id};
is req('POST', '/api/v1/templates', $auth, { name => 'Refunds', body => 'again' })->{status}, 409, 'names are unique';
is req('POST', '/api/v1/templates', $mauth, { name => 'Mine', body => 'x' })->{status}, 403, 'members cannot create';
$r = req('GET', '/api/v1/templates', $mauth);
is $r->{json}{items}[0]{body}, "Refunds take 5 days.\nThanks!", 'members list and use them';
is req('PATCH', "/api/v1/templates/$tpl", $mauth, { body => 'x' })->{status}, 403, 'members cannot edit';
is req('PATCH', "/api/v1/templates/$tpl", $auth, { body => 'Refunds take 3 days.' })->{json}{body}, 'Refunds take 3 days.', 'admins edit';
is req('DELETE', "/api/v1/templates/$tpl", $auth)->{status}, 204, 'admins delete';
is req('DELETE', "/api/v1/templates/$tpl", $auth)->{status}, 404, '... once';
is_deeply [map { $_->{action} } @{ $t->sql(q{SELECT action FROM audit_log WHERE action LIKE 'template.%' ORDER BY seq}) }],
    [qw(template.create template.update template.delete)], 'template changes audited';

# --- knowledge base -----------------------------------------------------
my $docs = "/api/v1/chatbots/$bot->{id}/documents";
$r = req('POST', $docs, $auth, { title => 'Shipping', content_type => 'text/markdown',
    content => "# Shipping\n\nWe ship worldwide within 3 business days.\r\n\r\n## Returns\n\nReturns are free for 30 days.",
    source_url => 'https://shop.example/help/shipping' });
is $r->{status}, 201, 'a Markdown document';
ok $r->{json}{chunks} >= 1, '... split into chunks';
my $md = $r->{json}{id};
my $html = <<'HTML';
<html><head><title>Opening hours</title><style>.x{color:red}</style>
<script>var secret = "do-not-index";</script></head>
<body><h1>Opening hours</h1><p>We are open Monday to Friday, 9&nbsp;to 17.</p>
<ul><li>Saturday: closed</li><li>Sunday: closed</li></ul>
<div hidden>hidden-text</div><noscript>noscript-text</noscript></body></html>
HTML
$r = req('POST', $docs, $auth, { title => 'Hours', content_type => 'text/html', content => $html });
is $r->{status}, 201, 'an HTML document';
my $h = req('GET', "$docs/$r->{json}{id}", $mauth)->{json};
like $h->{text}, qr/open Monday to Friday, 9.to 17\./, 'HTML reduced to its text';
like $h->{text}, qr/Saturday: closed.*\n.*Sunday: closed/s, '... list items on their own lines';
unlike $h->{text}, qr/do-not-index|color:red|hidden-text|noscript-text|<p>/, '... scripts, styles, hidden parts and tags dropped';
my $chunks = $t->sql('SELECT content, language::text AS l FROM kb_chunks WHERE document_id = ? ORDER BY ord', $r->{json}{id});
ok scalar(@$chunks) >= 1, 'chunks stored';
is $chunks->[0]{l}, 'english', '... indexed in the chatbot language';
ok $t->sql(q{SELECT count(*) AS n FROM kb_chunks WHERE tsv @@ websearch_to_tsquery('english', 'opening hours saturday')})->[0]{n} >= 1,
    'full-text search finds them';

is req('POST', $docs, $auth, { title => 'x', content_type => 'application/pdf', content => 'x' })->{status}, 415,
    'a type other than text, Markdown or HTML: 415';
is req('POST', $docs, $auth, { title => 'x', content_type => 'text/plain', content => " \n\t " })->{status}, 422, 'empty text: 422';
is req('POST', $docs, $auth, { title => 'x', content_type => 'text/html', content => '<script>only()</script>' })->{status}, 422,
    'HTML with no text: 422';
is req('POST', $docs, $auth, { title => 'x', content_type => 'text/plain', content => 'x', source_url => 'javascript:alert(1)' })->{status}, 422,
    'a source URL that is not http(s): 422';
$r = req('POST', $docs, $auth, { title => 'Big', content_type => 'text/plain', content => 'word ' x 14000 });
is $r->{status}, 413, 'a document over kb_document_max: 413';
is $r->{json}{code}, 'document_too_large', '... document_too_large';
is req('POST', $docs, $mauth, { title => 'x', content_type => 'text/plain', content => 'x' })->{status}, 403, 'members cannot add documents';
my $n_before = $t->sql('SELECT count(*) AS n FROM kb_documents')->[0]{n};
my $filled = 0;
for (1 .. 5) {
	$r = req('POST', $docs, $auth, { title => "Filler $_", content_type => 'text/plain', content => "filler text number $_. " x 2500 });
	last if $r->{status} != 201;
	$filled++;
}
is $r->{status}, 413, 'the company quota (kb_company_max) refuses more';
is $r->{json}{code}, 'knowledge_base_full', '... knowledge_base_full';
is $t->sql('SELECT count(*) AS n FROM kb_documents')->[0]{n}, $n_before + $filled, 'refused documents stored nothing';

$r = req('GET', $docs, $mauth);
is $r->{status}, 200, 'members list documents';
ok !exists $r->{json}{items}[0]{text}, '... without their text';
my $nchunks = $t->sql('SELECT count(*) AS n FROM kb_chunks WHERE document_id = ?', $md)->[0]{n};
ok $nchunks > 0, 'the Markdown document has chunks';
is req('DELETE', "$docs/$md", $mauth)->{status}, 403, 'members cannot delete documents';
is req('DELETE', "$docs/$md", $auth)->{status}, 204, 'admins delete a document';
is $t->sql('SELECT count(*) AS n FROM kb_chunks WHERE document_id = ?', $md)->[0]{n}, 0, '... and its chunks';
is req('GET', "$docs/$md", $auth)->{status}, 404, '... gone';
ok scalar @{ audit('document.create') } >= 2, 'document additions audited';
is scalar @{ audit('document.delete') }, 1, 'deletion audited';

# A language change re-indexes the knowledge base.
req('PATCH', "/api/v1/chatbots/$bot->{id}", $auth, { language => 'german' });
is $t->sql(q{SELECT DISTINCT language::text AS l FROM kb_chunks WHERE chatbot_id = ?}, $bot->{id})->[0]{l}, 'german',
    'a new language re-indexes the chunks';

# An API key with documents:write may add documents; one without may not.
my $key = req('POST', '/api/v1/api-keys', $auth, { name => 'kb', scopes => ['documents:write', 'documents:read'] })->{json}{key};
is req('POST', $docs, { authorization => "Bearer $key" }, { title => 'Via key', content_type => 'text/plain', content => 'From a key.' })->{status},
    201, 'a key with documents:write adds a document';
is req('POST', '/api/v1/chatbots', { authorization => "Bearer $key" }, { name => 'K' })->{status}, 403, '... but no chatbot';

# Deleting a chatbot deletes its knowledge base.
is req('DELETE', "/api/v1/chatbots/$bot->{id}", $auth)->{status}, 204, 'delete the chatbot';
is $t->sql('SELECT count(*) AS n FROM kb_documents')->[0]{n}, 0, '... with its documents';
is $t->sql('SELECT count(*) AS n FROM kb_chunks')->[0]{n}, 0, '... and chunks';
is scalar @{ audit('chatbot.delete') }, 1, '... audited';

done_testing;
