# Branding (sql/035-branding.sql, src/api_branding.c, api_chatbots.c): a
# chatbot's accent colours (a pair under WCAG AA's 4.5:1 refused, by
# parleyd and by the database), launcher side and display name; its logo
# (the kind from the bytes: PNG, JPEG, WebP only, no SVG, no GIF; bounded
# in pixels and bytes; written again without metadata; served from
# parley's origin); the public widget configuration; agents' display
# names on their replies, never their e-mail.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;
use TestFiles qw(png $gif $svg $html);

my $t = ParleyTest->new;
my $pw = 'a branding passphrase';
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h, defined $j ? (json => $j) : ()) }
sub put_logo { my ($auth, $id, $bytes, $ctype) = @_;
	$t->request('PUT', "/api/v1/chatbots/$id/logo", headers => { %$auth, 'content-type' => $ctype // 'application/octet-stream' }, body => $bytes) }
sub slurp { my $f = ParleyTest->srcdir . "/t/fixtures/$_[0]"; open my $fh, '<:raw', $f or die "$f: $!"; local $/; <$fh> }

my $co = $t->register_company('brand', $pw);
my $oa = $co->{auth};
my $bot = req('POST', '/api/v1/chatbots', $oa, { name => 'Shop help', allowed_origins => ['https://shop.example'] })->{json};
my $id = $bot->{id};
my $path = "/api/v1/chatbots/$id";

# --- colours, side, name ---
is $bot->{accent_color}, '#1f2937', 'a new chatbot has the neutral accent';
is $bot->{accent_text_color}, '#ffffff', '... white text on it';
is $bot->{launcher_position}, 'right', '... the launcher on the right';
is $bot->{display_name}, undef, '... no display name of its own';
is $bot->{logo}, undef, '... and no logo';

my $r = req('PATCH', $path, $oa, { accent_color => '#0B5FFF', launcher_position => 'left', display_name => 'Shoppy' });
is $r->{status}, 200, 'an accent, a side and a name are set';
is $r->{json}{accent_color}, '#0b5fff', '... the colour kept in lower case';
is $r->{json}{launcher_position}, 'left', '... the launcher on the left';
is $r->{json}{display_name}, 'Shoppy', '... and the bot named';
my $audit = $t->sql(q{SELECT changes FROM audit_log WHERE company_id = ? AND action = 'chatbot.update' ORDER BY seq DESC LIMIT 1}, $co->{id})->[0];
like $audit->{changes}, qr/"accent_color":\s*\{"new":\s*"#0b5fff",\s*"old":\s*"#1f2937"\}/, '... audited with the old and new colour';

$r = req('PATCH', $path, $oa, { accent_color => '#ffff00' });
is $r->{status}, 422, 'yellow under white text: 422';
is $r->{json}{code}, 'validation_failed', '... validation_failed';
is $r->{json}{errors}[0]{field}, 'accent_color', '... naming the colour sent';
is $r->{json}{errors}[0]{code}, 'contrast', '... for its contrast';
ok abs($r->{json}{contrast} - 1.07) < 0.01, "... which it gives ($r->{json}{contrast}:1)";
like $r->{json}{detail}, qr/4\.5:1/, '... against the 4.5:1 WCAG AA needs';
is req('GET', $path, $oa)->{json}{accent_color}, '#0b5fff', '... and nothing changed';
$r = req('PATCH', $path, $oa, { accent_color => '#ffff00', accent_text_color => '#111111' });
is $r->{status}, 200, 'yellow under near-black text is readable (17.6:1)';
$r = req('PATCH', $path, $oa, { accent_text_color => '#ffffff' });
is $r->{status}, 422, 'then white text alone on that yellow: 422';
is $r->{json}{errors}[0]{field}, 'accent_text_color', '... naming the text colour';
$r = req('PATCH', $path, $oa, { accent_color => '#767676', accent_text_color => '#ffffff' });
is $r->{status}, 200, '#767676 under white passes (4.54:1)';
$r = req('PATCH', $path, $oa, { accent_color => '#777777' });
is $r->{status}, 422, '#777777 under white does not (4.48:1)';
is req('PATCH', $path, $oa, { accent_color => 'red' })->{json}{errors}[0]{code}, 'format', 'a colour by name: 422 format';
is req('PATCH', $path, $oa, { accent_color => '#12345' })->{status}, 422, 'five digits: 422';
is req('PATCH', $path, $oa, { launcher_position => 'top' })->{status}, 422, 'a launcher on top: 422';
is req('PATCH', $path, $oa, { display_name => 'x' x 61 })->{status}, 422, 'a display name over 60 bytes: 422';
is req('PATCH', $path, $oa, { display_name => undef })->{json}{display_name}, undef, 'the display name cleared with null';
req('PATCH', $path, $oa, { accent_color => '#0b5fff', display_name => 'Shoppy' });
my $sql_refused = !eval { $t->sql(q{UPDATE chatbots SET accent_color = '#ffff00', accent_text_color = '#ffffff' WHERE id = ?}, $id); 1 };
ok $sql_refused && $@ =~ /chatbots_accent_contrast/, 'the database refuses an unreadable pair too (its CHECK)';
$r = req('POST', '/api/v1/chatbots', $oa, { name => 'Pale', accent_color => '#fafafa' });
is $r->{status}, 422, 'a new chatbot with an unreadable accent: 422';
is scalar @{ req('GET', '/api/v1/chatbots', $oa)->{json}{items} }, 1, '... and no chatbot made';

# --- the widget's configuration: public, by the key ---
my $cfg = "/api/v1/widget/config?bot=$bot->{public_key}";
$r = $t->get($cfg);
is $r->{status}, 200, 'the widget reads its configuration without a session';
is_deeply { map { $_ => $r->{json}{$_} } qw(name display_name accent_color accent_text_color launcher_position logo_url) },
    { name => 'Shop help', display_name => 'Shoppy', accent_color => '#0b5fff', accent_text_color => '#ffffff',
      launcher_position => 'left', logo_url => undef }, '... its look';
like $r->{headers}{'cache-control'} // '', qr/public, max-age=60/, '... cacheable for a minute';
is $t->get('/api/v1/widget/config?bot=pk_' . ('0' x 32))->{status}, 404, 'an unknown key: 404';
is $t->get('/api/v1/widget/config?bot=x')->{status}, 400, 'a malformed key: 400';
is $t->get('/api/v1/widget/config')->{status}, 400, 'no key: 400';

# --- the logo ---
my $secret = 'LOGO-METADATA-SECRET';
$r = put_logo($oa, $id, png(64, 48, text => $secret), 'image/png');
is $r->{status}, 200, 'a PNG logo is taken';
is_deeply [@{ $r->{json} }{qw(media_type width height)}], ['image/png', 64, 48], '... as a 64x48 PNG';
my $sha = $r->{json}{sha256};
$r = $t->get($cfg);
is $r->{json}{logo_url}, "/api/v1/widget/logo?bot=$bot->{public_key}&v=$sha", 'the configuration names it, versioned';
$r = $t->get($r->{json}{logo_url});
is $r->{status}, 200, 'the logo is served from parley';
is $r->{headers}{'content-type'}, 'image/png', '... as image/png';
is $r->{headers}{'x-content-type-options'}, 'nosniff', '... with nosniff';
like $r->{headers}{'cache-control'}, qr/immutable/, '... cached for good under its version';
is substr($r->{content}, 0, 8), "\x89PNG\r\n\x1a\n", '... a PNG';
unlike $r->{content}, qr/\Q$secret\E/, '... written again without its metadata';
like $t->get("/api/v1/widget/logo?bot=$bot->{public_key}")->{headers}{'cache-control'}, qr/max-age=60\b/,
    'unversioned, for a minute only';
is req('GET', $path, $oa)->{json}{logo}{sha256}, $sha, 'the chatbot shows its logo';

my $before = $sha;
is put_logo($oa, $id, $svg, 'image/svg+xml')->{status}, 415, 'an SVG logo declared as one: 415';
$r = put_logo($oa, $id, $svg, 'image/png');
is $r->{status}, 415, 'an SVG logo sent as a PNG: 415 (its bytes say SVG)';
is $r->{json}{code}, 'unsupported_logo_type', '... unsupported_logo_type';
$r = put_logo($oa, $id, $gif);
is $r->{status}, 415, 'a GIF logo: 415';
is $r->{json}{detected}, 'image/gif', '... saying what it is';
is put_logo($oa, $id, $html, 'image/png')->{status}, 415, 'HTML sent as image/png: 415';
$r = put_logo($oa, $id, png(1025, 8), 'image/png');
is $r->{status}, 413, 'a logo 1025 pixels wide: 413';
is $r->{json}{code}, 'image_too_large', '... image_too_large';
is put_logo($oa, $id, '', 'image/png')->{status}, 422, 'an empty logo: 422';
is $t->request('PUT', "$path/logo", headers => { %$oa, 'content-type' => 'text/plain' }, body => 'hi')->{status}, 415,
    'a body declared as text: 415';
is req('GET', $path, $oa)->{json}{logo}{sha256}, $before, 'none of those changed the logo';
$r = put_logo($oa, $id, slurp('small.webp'), 'image/webp');
is $r->{status}, 200, 'a WebP logo is taken';
is $r->{json}{media_type}, 'image/webp', '... as WebP';
$r = put_logo($oa, $id, slurp('rotated.jpg'), 'image/jpeg');
is $r->{status}, 413, 'a photo 1200 pixels wide: 413';
my $logos = $t->sql(q{SELECT count(*) AS n FROM audit_log WHERE company_id = ? AND action = 'chatbot.logo_update' AND changed_fields @> '["logo"]'}, $co->{id})->[0]{n};
is $logos, 2, 'each new logo audited';

my $other = $t->register_company('brand2', $pw);
is put_logo($other->{auth}, $id, png(8, 8))->{status}, 404, "another company's admin cannot set it";
is req('DELETE', "$path/logo", $other->{auth})->{status}, 404, '... nor remove it';
my $member = $t->add_member($co, 'member@brand.example', 'member', $pw);
is put_logo($member, $id, png(8, 8))->{status}, 403, 'a member cannot set it';

is req('DELETE', "$path/logo", $oa)->{status}, 204, 'the logo is removed';
is $t->get("/api/v1/widget/logo?bot=$bot->{public_key}")->{status}, 404, '... and no longer served';
is $t->get($cfg)->{json}{logo_url}, undef, '... nor named';
is req('DELETE', "$path/logo", $oa)->{status}, 404, 'removing it again: 404';

# --- agents' names on their replies ---
my $agent = $t->add_member($co, 'sam.agent@brand.example', 'member', $pw);
$r = req('PATCH', '/api/v1/me', $agent, { display_name => 'Sam from Support' });
is $r->{json}{user}{display_name}, 'Sam from Support', 'an agent chooses the name visitors see';
my $s = $t->post('/api/v1/widget/sessions', headers => { origin => 'https://shop.example' }, json => { bot_key => $bot->{public_key} })->{json};
my $vh = { authorization => "Bearer $s->{token}" };
my $conv = req('POST', '/api/v1/widget/conversations', $vh)->{json}{id};
req('POST', "/api/v1/conversations/$conv/messages", $agent, { content => 'Hello, I can **help** with that.' });
$r = req('GET', "/api/v1/widget/conversations/$conv/messages", $vh);
my ($reply) = grep { $_->{role} eq 'agent' } @{ $r->{json}{items} };
is $reply->{author_name}, 'Sam from Support', 'the visitor sees the agent by that name';
ok !exists $reply->{author_id}, '... not by id';
unlike $r->{content}, qr/sam\.agent\@/, '... and never their e-mail';
req('PATCH', '/api/v1/me', $agent, { display_name => undef });
$r = req('GET', "/api/v1/widget/conversations/$conv/messages", $vh);
($reply) = grep { $_->{role} eq 'agent' } @{ $r->{json}{items} };
is $reply->{author_name}, 'Pe', 'with none chosen: the first word of their name';
$r = req('GET', "/api/v1/conversations/$conv", $oa);
($reply) = grep { $_->{role} eq 'agent' } @{ $r->{json}{messages} };
is $reply->{author_name}, 'Pe', 'the team sees the same name on the reply';

done_testing;
