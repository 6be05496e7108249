# Times leave the API as RFC 3339 UTC whatever DateStyle and TimeZone the
# database gives parley's connections: the role's settings here are
# 'SQL, DMY' and a zone east of UTC, and a chatbot's times still read
# 2026-…T…Z, as every time does.
use strict;
use warnings;
use Test::More;
use ParleyTest;

my $t = ParleyTest->new;
$t->sql(qq{ALTER ROLE parley_app IN DATABASE "@{[ $t->dbname ]}" SET DateStyle = 'SQL, DMY'});
$t->sql(qq{ALTER ROLE parley_app IN DATABASE "@{[ $t->dbname ]}" SET TimeZone = 'Asia/Kolkata'});
$t->stop_parleyd;
$t->start_parleyd;
my $o = $t->register_company('datestyle', 'a long enough passphrase here');
my $r = $t->post('/api/v1/chatbots', headers => $o->{auth}, json => { name => 'Dated' });
is $r->{status}, 201, 'a chatbot made under DateStyle SQL, DMY';
like $r->{json}{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, '... its created_at is RFC 3339 UTC';
my $db = $t->sql(q{SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS t FROM chatbots WHERE id = ?}, $r->{json}{id})->[0]{t};
is $r->{json}{created_at}, $db, '... the very instant stored, in UTC';
is $t->get('/api/v1/me', headers => $o->{auth})->{json}{user}{created_at} =~ /Z$/ ? 1 : 0, 1, '... and /me too';
done_testing;
