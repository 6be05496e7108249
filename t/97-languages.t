# Languages (sql/037-languages.sql, src/bot_text.c, widget/i18n/): the
# widget's catalogues say every string in every shipped locale; a
# chatbot offers locales with a welcome each; a document has its own
# language, Estonian and Hebrew (no stemmer in PostgreSQL) search with
# accents folded; a conversation has the visitor's locale, and the bot
# answers from the knowledge base in it, with its own words in it too.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;

my $src = ParleyTest->srcdir;
sub slurp { my $f = shift; open my $fh, '<:raw', $f or die "$f: $!"; local $/; <$fh> }

# --- the catalogues --------------------------------------------------------
my @locales = qw(en de fr es da sv et);
my %cat = map { $_ => JSON::PP->new->utf8->decode(slurp("$src/widget/i18n/$_.json")) } @locales;
my @keys = sort keys %{ $cat{en} };
cmp_ok scalar @keys, '>=', 60, 'the English catalogue has every string (' . scalar(@keys) . ')';
for my $l (@locales) {
	is_deeply [sort keys %{ $cat{$l} }], \@keys, "$l: the same strings as English, none missing, none extra";
	my @empty = grep { !defined $cat{$l}{$_} || $cat{$l}{$_} !~ /\S/ } @keys;
	is "@empty", '', "$l: none empty";
	my @holes = grep { join(',', sort $cat{$l}{$_} =~ /\{(\w+)\}/g) ne join(',', sort $cat{en}{$_} =~ /\{(\w+)\}/g) } @keys;
	is "@holes", '', "$l: the same placeholders as English";
	next if $l eq 'en';
	my $same = grep { $cat{$l}{$_} eq $cat{en}{$_} } @keys;
	cmp_ok $same, '<', 10, "$l: written in its language, not English left in ($same the same, such as Chat)";
}
my $html = slurp("$src/widget/frame.html");
my %used = map { $_ => 1 } $html =~ /data-i18n(?:-aria|-title)?="(\w+)"/g;
my $js = slurp("$src/widget/frame.js");
$used{$_} = 1 for $js =~ /\bT\.(\w+)/g;
$used{$_} = 1 for qw(whoVisitor whoBot whoAgent openChat);
my @unknown = grep { !exists $cat{en}{$_} } sort keys %used;
is "@unknown", '', 'every string frame.html and frame.js use is in the catalogue';
my @unused = grep { !$used{$_} } @keys;
is "@unused", '', 'and the catalogue holds no string nothing uses';
# Text that never went through the catalogue: none left in the page.
(my $visible = $html) =~ s/<(script|style)\b.*?<\/\1>//gs;
my @bare = grep { /[A-Za-z]{3}/ } map { s/^\s+|\s+$//gr } $visible =~ />([^<]+)</g;
my %known = map { $_ => 1 } values %{ $cat{en} };
@bare = grep { my $b = $_ =~ s/\s+/ /gr; !$known{$b} } @bare;
is "@bare", '', 'the page has no English the catalogue does not replace';

# --- the server ------------------------------------------------------------
my $t = ParleyTest->new;
my $co = $t->register_company('lang', 'a languages passphrase, seven of them');
my $auth = $co->{auth};
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h, defined $j ? (json => $j) : ()) }
my $r = req('POST', '/api/v1/chatbots', $auth, { name => 'Polyglot', allowed_origins => ['https://shop.example'],
    locales => ['en', 'de', 'et', 'ar'], welcome_message => 'Hello!', welcome_messages => { de => 'Hallo! Wie können wir helfen?',
    et => 'Tere! Kuidas saame aidata?', ar => 'مرحبا! كيف يمكننا المساعدة؟' } });
is $r->{status}, 201, 'a chatbot offers English, German, Estonian and Arabic';
my $bot = $r->{json};
is_deeply $bot->{locales}, ['en', 'de', 'et', 'ar'], '... in that order, English its default';
is $bot->{welcome_messages}{et}, 'Tere! Kuidas saame aidata?', '... with a welcome each';
is req('PATCH', "/api/v1/chatbots/$bot->{id}", $auth, { locales => ['en', 'tlh'] })->{status}, 422, 'a locale not offered: 422';
is req('PATCH', "/api/v1/chatbots/$bot->{id}", $auth, { locales => [] })->{status}, 422, 'no locale at all: 422';
is req('PATCH', "/api/v1/chatbots/$bot->{id}", $auth, { welcome_messages => { xx => 'Hi' } })->{status}, 422,
    'a welcome for an unknown locale: 422';
is req('PATCH', "/api/v1/chatbots/$bot->{id}", $auth, { welcome_messages => { de => 'x' x 1001 } })->{status}, 422,
    'a welcome over 1000 bytes: 422';
is req('PATCH', "/api/v1/chatbots/$bot->{id}", $auth, { welcome_messages => { de => 42 } })->{status}, 422, 'a welcome that is no text: 422';
is req('PATCH', "/api/v1/chatbots/$bot->{id}", $auth, { language => 'estonian' })->{json}{language}, 'estonian',
    'Estonian is a knowledge-base language';
req('PATCH', "/api/v1/chatbots/$bot->{id}", $auth, { language => 'english' });
my $cfg = $t->get("/api/v1/widget/config?bot=$bot->{public_key}")->{json};
is_deeply [$cfg->{locales}, $cfg->{welcome_messages}{de}, $cfg->{welcome_message}], [['en', 'de', 'et', 'ar'], 'Hallo! Wie können wir helfen?', 'Hello!'],
    'the widget reads the locales and welcomes before any session';

my $docs = "/api/v1/chatbots/$bot->{id}/documents";
sub doc { my ($title, $text, $lang) = @_; my $r = req('POST', $docs, $auth, { title => $title, content_type => 'text/plain',
	content => $text, defined $lang ? (language => $lang) : () }); die "doc $title: $r->{status}" unless $r->{status} == 201; $r->{json} }
my $en = doc('Returns', 'Returns are free within 30 days. Print the return label from your order page.');
my $de = doc('Rücksendung', 'Rücksendungen sind innerhalb von 30 Tagen kostenlos. Drucken Sie das Rücksendeetikett auf Ihrer Bestellseite aus.', 'german');
my $et = doc('Tagastamine', 'Tagastamine on 30 päeva jooksul tasuta. Trükkige tagastussilt välja oma tellimuse lehelt.', 'estonian');
is $en->{language}, undef, "a document without a language follows the chatbot's";
is $de->{language}, 'german', 'one with its own keeps it';
my %chunk = map { $_->{d} => $_->{l} } @{ $t->sql(q{SELECT document_id::text AS d, language::text AS l FROM kb_chunks WHERE chatbot_id = ?}, $bot->{id}) };
is_deeply [@chunk{$en->{id}, $de->{id}, $et->{id}}], ['english', 'german', 'estonian'], '... and its chunks are indexed in it';
is req('POST', $docs, $auth, { title => 'X', content_type => 'text/plain', content => 'x', language => 'klingon' })->{status}, 422,
    'a document in an unknown language: 422';
req('PATCH', "/api/v1/chatbots/$bot->{id}", $auth, { language => 'simple' });
%chunk = map { $_->{d} => $_->{l} } @{ $t->sql(q{SELECT document_id::text AS d, language::text AS l FROM kb_chunks WHERE chatbot_id = ?}, $bot->{id}) };
is_deeply [@chunk{$en->{id}, $de->{id}}], ['simple', 'german'], "a change of the chatbot's language re-indexes only the documents that follow it";
req('PATCH', "/api/v1/chatbots/$bot->{id}", $auth, { language => 'english' });
# (Unicode escapes: this file's strings are bytes, which the driver would
# encode again.)
my $fold = $t->sql(q{SELECT to_tsvector('estonian', U&'Tagastamine p\00E4eva jooksul') @@ plainto_tsquery('estonian', 'paeva') AS a,
    to_tsvector('hebrew', U&'\05E9\05DC\05D5\05DD \05E2\05D5\05DC\05DD') @@ plainto_tsquery('hebrew', U&'\05E2\05D5\05DC\05DD') AS b,
    to_tsvector('arabic', U&'\0627\0644\0645\0633\0627\0639\062F\0629') @@ plainto_tsquery('arabic', U&'\0645\0633\0627\0639\062F\0629') AS c})->[0];
ok $fold->{a}, 'Estonian: a word typed without its accents still matches (unaccent)';
ok $fold->{b}, 'Hebrew: whole words match';
ok $fold->{c}, "Arabic: PostgreSQL's stemmer matches a word's forms";

# --- the visitor's language --------------------------------------------------
my $s = $t->post('/api/v1/widget/sessions', headers => { origin => 'https://shop.example' }, json => { bot_key => $bot->{public_key} })->{json};
my $vh = { authorization => "Bearer $s->{token}" };
my ($tok) = $vh->{authorization} =~ /^Bearer (.+)$/;
sub conv { my $l = shift; req('POST', '/api/v1/widget/conversations' . (defined $l ? "?locale=$l" : ''), $vh)->{json} }
is conv('de')->{locale}, 'de', 'a conversation in the locale the widget chose';
is conv('fr')->{locale}, 'en', "one the chatbot does not offer gets its default";
is conv()->{locale}, 'en', '... as does none';
is req('POST', '/api/v1/widget/conversations?locale=xx', $vh)->{status}, 400, 'a malformed locale: 400';
my $cde = conv('de')->{id};
$r = $t->visitor_say($tok, $cde, 'Sind Rücksendungen kostenlos?');
like $r->{json}{reply}{content}, qr/Rücksendungen sind innerhalb von 30 Tagen kostenlos/, 'a German visitor is answered from the German document';
is $r->{json}{reply}{citations}[0]{title}, 'Rücksendung', '... citing it';
my $cet = conv('et')->{id};
$r = $t->visitor_say($tok, $cet, 'Kas tagastamine on tasuta 30 paeva?');
like $r->{json}{reply}{content}, qr/Tagastamine on 30 päeva jooksul tasuta/, 'an Estonian visitor typing without accents finds the Estonian document';
my $cen = conv('en')->{id};
$r = $t->visitor_say($tok, $cen, 'Are returns free?');
like $r->{json}{reply}{content}, qr/^Returns are free/, 'an English visitor gets the English one';
my $car = conv('ar')->{id};
$r = $t->visitor_say($tok, $car, 'Are returns free?');
like $r->{json}{reply}{content}, qr/Returns are free/, 'a visitor whose language the knowledge base lacks still gets an answer';
$r = $t->visitor_say($tok, conv('de')->{id}, 'Ich möchte mit einem Menschen sprechen, person bitte');
is $r->{json}{status}, 'pending', 'a German visitor asks for a person';
like $r->{json}{reply}{content}, qr/Ich habe eine Person aus unserem Team dazugeholt/, "... and the bot's own words are German";
$r = req('POST', '/api/v1/widget/conversations/' . conv('et')->{id} . '/handoff', $vh);
like $r->{json}{reply}{content}, qr/meeskonnast/, "... an Estonian visitor's handoff button, Estonian";
# Misspelled: a word no chunk holds is joined by the most similar one
# (sql/038-trigram.sql).
$r = $t->visitor_say($tok, conv('en')->{id}, 'retrns labl?');
like $r->{json}{reply}{content}, qr/return label/, 'a misspelled question still finds its passage (trigrams)';
is $t->sql(q{SELECT chunks FROM kb_terms WHERE chatbot_id = ? AND term = 'returns'}, $bot->{id})->[0]{chunks}, 1,
    "the chatbot's words are kept with the chunks that hold them";
my $tmp = doc('Temporary', 'Zeppelins float above the warehouse.');
ok $t->sql(q{SELECT 1 AS x FROM kb_terms WHERE chatbot_id = ? AND term = 'zeppelins'}, $bot->{id})->[0], '... a new document adds its words';
req('DELETE', "$docs/$tmp->{id}", $auth);
ok !$t->sql(q{SELECT 1 AS x FROM kb_terms WHERE chatbot_id = ? AND term = 'zeppelins'}, $bot->{id})->[0], '... and its deletion takes them away';
$r = $t->visitor_say($tok, conv('de')->{id}, 'Quantenchromodynamik?');
like $r->{json}{reply}{content}, qr/Dokumentation keine Antwort/, 'nothing found: said in German';

done_testing;
