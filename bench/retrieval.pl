# bench/retrieval.pl: run by bench/retrieval (see there).
#
# The knowledge base of kb.json goes in through the API (so it is chunked
# and indexed as the product does it), each document in its language; each
# question of questions.json is a visitor's message in a conversation of
# its language, answered by the answerer against the fake LLM provider
# (t/fakes/llm.py), which records the prompt: the knowledge-base passages
# in it, in order, are what retrieval returned. Prints recall@1, recall@3
# and MRR (over the four passages the product keeps), overall, by language
# and by kind, and the misses.
use strict;
use warnings;
use JSON::PP;
use Time::HiRes qw(time);
use ParleyTest;

my $dir = ParleyTest->srcdir . '/bench/kb';
sub slurp { my $f = shift; open my $fh, '<:raw', $f or die "$f: $!"; local $/; <$fh> }
# Bytes in, bytes out: the harness sends strings as they are.
my $json = JSON::PP->new;
my $kb = $json->decode(slurp("$dir/kb.json"));
my $questions = $json->decode(slurp("$dir/questions.json"));
my %locale = (english => 'en', german => 'de');

my $t = ParleyTest->new(llm => 1, env => { PARLEY_WIDGET_MESSAGE_RATE => 100000, PARLEY_API_RATE_MAX => 1000000 });
my $co = $t->register_company('retrieval', 'a retrieval bench passphrase, labelled');
$t->sql(q{UPDATE companies SET plan = 'enterprise' WHERE id = ?}, $co->{id});
my $auth = $co->{auth};
my $bot = $t->request('POST', '/api/v1/chatbots', headers => $auth, json => { name => 'Nordlicht',
    allowed_origins => ['https://nordlicht.example'], locales => ['en', 'de'], language => 'english' })->{json};
my (%doc_of, %n_chunks);
my $t0 = time;
for my $d (@$kb) {
	my $r = $t->request('POST', "/api/v1/chatbots/$bot->{id}/documents", headers => $auth, json => { title => $d->{title},
	    content_type => 'text/markdown', content => $d->{content}, language => $d->{language},
	    defined $d->{source_url} ? (source_url => $d->{source_url}) : () });
	die "document $d->{id}: $r->{status} $r->{content}\n" unless $r->{status} == 201;
	$doc_of{$r->{json}{id}} = $d->{id};
	$n_chunks{$d->{id}} = $r->{json}{chunks};
}
my $chunks = 0;
$chunks += $_ for values %n_chunks;
printf "knowledge base: %d documents, %d chunks, loaded in %.1f s\n", scalar @$kb, $chunks, time - $t0;

my $s = $t->post('/api/v1/widget/sessions', headers => { origin => 'https://nordlicht.example' },
    json => { bot_key => $bot->{public_key} })->{json};
my $vh = { authorization => "Bearer $s->{token}" };
my (%sum, @misses);
$t0 = time;
for my $q (@$questions) {
	my $conv = $t->request('POST', "/api/v1/widget/conversations?locale=$locale{$q->{language}}", headers => $vh)->{json}{id};
	$t->llm_reset;
	$t->visitor_say($s->{token}, $conv, $q->{q});
	my ($req) = @{ $t->llm_requests };
	die "no provider request for \"$q->{q}\"\n" unless $req;
	my ($passages) = map { $_->{content} } grep { $_->{role} eq 'user' } @{ $req->{body}{messages} };
	my @ranked = map { $doc_of{$_} // '?' } $passages =~ /<untrusted_document source="knowledge_base" id="([0-9a-f-]{36})"/g;
	# A document's chunks may come more than once: its first place counts.
	my (%seen, @docs);
	$seen{$_}++ or push @docs, $_ for @ranked;
	my ($rank) = grep { $docs[$_ - 1] eq $q->{expected} } 1 .. @docs;
	for my $k ('all', $q->{language}, $q->{kind}) {
		$sum{$k}{n}++;
		$sum{$k}{r1}++ if $rank && $rank == 1;
		$sum{$k}{r3}++ if $rank && $rank <= 3;
		$sum{$k}{mrr} += $rank ? 1 / $rank : 0;
	}
	push @misses, sprintf('%-10s %-5s %-30s got %s', $q->{kind}, $q->{language} eq 'english' ? 'en' : 'de',
	    $q->{expected}, join(' ', @docs[0 .. ($#docs < 2 ? $#docs : 2)]) || '(none)') . "  \"$q->{q}\"" unless $rank && $rank == 1;
}
printf "%d questions in %.1f s\n\n", scalar @$questions, time - $t0;
printf "%-12s %5s %9s %9s %6s\n", 'set', 'n', 'recall@1', 'recall@3', 'MRR';
for my $k (qw(all english german direct paraphrase misspelled)) {
	my $x = $sum{$k} or next;
	printf "%-12s %5d %8.1f%% %8.1f%% %6.3f\n", $k, $x->{n}, 100 * ($x->{r1} // 0) / $x->{n}, 100 * ($x->{r3} // 0) / $x->{n}, $x->{mrr} / $x->{n};
}
print "\nnot first (", scalar @misses, "):\n", map { "  $_\n" } @misses;
