# docs/first-session.md, run as written: every ```sh block of it, in
# order, in one bash, against a fresh stack (its P= and MAIL= lines point
# at this one); then what it printed is checked.
use strict;
use warnings;
use Test::More;
use ParleyTest;

my $t = ParleyTest->new;
my $doc = ParleyTest->srcdir . '/docs/first-session.md';
open my $fh, '<', $doc or die "$doc: $!";
my ($script, $in, $blocks) = ('', 0, 0);
while (<$fh>) {
	if (/^```sh$/) { $in = 1; $blocks++; next }
	if (/^```$/) { $in = 0; next }
	$script .= $_ if $in;
}
cmp_ok $blocks, '>=', 8, "the walkthrough has its steps ($blocks blocks)";
my $p = "https://127.0.0.1:" . $t->https_port;
my $mail = $t->dir . '/mail';
like $script, qr/^P=https:\/\/127\.0\.0\.1:8443$/m, 'it names the dev stack\'s address';
like $script, qr/^MAIL=var\/mail$/m, '... and its mail catcher';
$script =~ s/^P=.*$/P=$p/m;
$script =~ s/^MAIL=.*$/MAIL=$mail/m;
my $file = $t->dir . '/first-session.sh';
open my $out, '>', $file or die $!;
print $out $script;
close $out;
my $got = `timeout 120 bash -eo pipefail '$file' 2>&1`;
is $? >> 8, 0, 'every command ran' or diag $got;
like $got, qr/\{"status":"confirmation_sent","email":"olga\@garden\.example"\}/, 'signed up: confirmation_sent';
like $got, qr/\{"email":"olga\@garden\.example","role":"owner","company":"Garden Shop"\}/, 'the link made the owner';
like $got, qr/^pk_[0-9a-f]{32}$/m, 'a chatbot with its public key';
like $got, qr/\{"title":"Delivery","chunks":1\}/, 'a document';
like $got, qr{^<script src="\Q$p\E/widget/parley\.js" data-bot="pk_[0-9a-f]{32}" async></script>$}m, 'the embed tag';
like $got, qr/^bot: Delivery takes two to three working days\.$/m, 'the bot answered from the document, with its best sentence';
like $got, qr/\{"status":"pending"\}/, 'handed to a person';
like $got, qr/\{"role":"agent","content":"Hello, Olga here: yours leaves today\."\}/, 'the agent replied';
like $got, qr/agent: Hello, Olga here: yours leaves today\.\s*\z/, '... and the visitor has it, last';
done_testing;
