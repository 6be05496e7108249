# TestFiles: files made byte by byte for the tests that upload them
# (attachments, logos): PNGs of any size, a GIF with a comment, an SVG
# with a script, a PDF, an HTML page.
package TestFiles;
use strict;
use warnings;
use Exporter 'import';
use Compress::Zlib qw(compress crc32);

our @EXPORT_OK = qw(png chunk $gif $pdf $svg $html);

sub chunk { my ($type, $data) = @_; pack('N', length $data) . $type . $data . pack('N', crc32($type . $data)) }

# A $w x $h red PNG; idat => the compressed pixels as given, text => a
# tEXt Comment chunk.
sub png {
	my ($w, $h, %o) = @_;
	my $idat = $o{idat} // compress(join '', map { "\0" . ("\xff\x00\x00" x $w) } 1 .. $h);
	return "\x89PNG\r\n\x1a\n" . chunk('IHDR', pack('NNCCCCC', $w, $h, 8, 2, 0, 0, 0))
	    . ($o{text} ? chunk('tEXt', "Comment\0$o{text}") : '')
	    . chunk('IDAT', $idat) . chunk('IEND', '');
}
our $gif = "GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00"
    . "!\xfe\x0eGPS-SECRET-GIF\x00"                       # a comment extension
    . "!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
our $pdf = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    . "trailer\n<< /Root 1 0 R >>\n%%EOF\n";
our $svg = qq{<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>\n};
our $html = "<!DOCTYPE html>\n<html><body><script>alert(document.cookie)</script></body></html>\n";

1;
