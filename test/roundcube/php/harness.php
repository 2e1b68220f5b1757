<?php
/**
 * Test harness for the Roundcube plugin's PHP classes outside Roundcube (test/roundcube/php-adapter.test.ts):
 * reads one JSON request on stdin, runs it, prints one JSON answer. Only what the classes need from Roundcube is
 * loaded: PEAR's Mail_mime (Debian's php-mail-mime, which roundcube-core depends on) for smime_mime_message.
 */
require_once __DIR__ . '/../../../plugin/roundcube/lib/smime_backend.php';

$in  = json_decode(stream_get_contents(STDIN), true);
$out = [];

try {
    switch ($in['op']) {
        case 'token':
            $backend = new smime_backend($in['url'] ?? 'http://127.0.0.1:1', $in['email'], $in['options']);
            $out     = $backend->token();
            break;

        case 'incoming':
            $backend = new smime_backend($in['url'], $in['email'], $in['options']);
            $out     = ['answer' => $backend->incoming(base64_decode($in['raw']), $in['unlock'] ?? null)];
            break;

        case 'outgoing':
            $backend = new smime_backend($in['url'], $in['email'], $in['options']);
            $copies  = $backend->outgoing(base64_decode($in['raw']), $in['sign'], $in['encrypt'], $in['unlock'] ?? null);
            $out     = ['copies' => array_map(function ($c) { return ['bcc' => $c['bcc'], 'raw' => base64_encode($c['raw'])]; }, $copies)];
            break;

        case 'cookie':
            $out = ['name' => smime_backend::unlock_cookie_name($in['email'])];
            break;

        case 'mime':
            set_include_path('/usr/share/php' . PATH_SEPARATOR . get_include_path());
            require_once 'PEAR.php';
            require_once 'Mail/mime.php';
            require_once __DIR__ . '/../../../plugin/roundcube/lib/smime_mime_message.php';
            $original = new Mail_mime(['eol' => "\r\n"]);
            $message  = new smime_mime_message($original, base64_decode($in['raw']));
            $file     = tempnam(sys_get_temp_dir(), 'smime-test');
            $message->get(null, $file);
            $out = [
                'headers'    => $message->headers(),
                'txtHeaders' => base64_encode($message->txtHeaders(['Bcc' => null], true)),
                'body'       => base64_encode($message->get()),
                'message'    => base64_encode($message->getMessage()),
                'file'       => base64_encode(file_get_contents($file)),
            ];
            unlink($file);
            break;

        default:
            throw new Exception('unknown op');
    }
}
catch (smime_backend_error $e) {
    $out = ['error' => ['code' => $e->error_code, 'status' => $e->status, 'message' => $e->getMessage(), 'details' => $e->details]];
}

echo json_encode($out);
