<?php

/**
 * The plugin's one way to the S/MIME backend (issue 11): mints the host token the backend's JWT contract asks for
 * (sub = the user's address, aud, iat, exp; HS256 with the shared secret, or RS256/ES256 with the host's private
 * key) and makes the HTTP calls. Everything S/MIME happens in the backend; this class only carries bytes.
 *
 * PHP's own stream wrapper is used (no curl extension needed): Debian's roundcube-core does not pull php-curl.
 */
class smime_backend
{
    /** Bytes of a backend answer read at most: the largest message the backend accepts, base64, plus JSON. */
    const MAX_ANSWER_BYTES = 128 * 1024 * 1024;

    private $url;
    private $email;
    private $options;

    /**
     * @param string $url     Base URL of the backend as Roundcube's server reaches it (no trailing slash)
     * @param string $email   The logged-in user's address (the token subject)
     * @param array  $options jwt_secret | jwt_private_key (PEM), jwt_audience, jwt_issuer, token_lifetime, timeout,
     *                        ca_file
     */
    public function __construct($url, $email, array $options)
    {
        $this->url     = rtrim($url, '/');
        $this->email   = strtolower(trim($email));
        $this->options = $options;
    }

    public function email()
    {
        return $this->email;
    }

    /**
     * A short-lived user token for the backend: for the plugin's own calls and for the components in the browser.
     *
     * @return array ['token' => string, 'expiresAt' => int (unix seconds)]
     */
    public function token()
    {
        $now      = time();
        $lifetime = max(30, min(900, (int) ($this->options['token_lifetime'] ?? 300)));
        $payload  = [
            'sub' => $this->email,
            'aud' => $this->options['jwt_audience'] ?? 'smime',
            'iat' => $now,
            'exp' => $now + $lifetime,
            'jti' => bin2hex(random_bytes(12)),
        ];
        if (!empty($this->options['jwt_issuer'])) {
            $payload['iss'] = $this->options['jwt_issuer'];
        }

        if (!empty($this->options['jwt_private_key'])) {
            $key = openssl_pkey_get_private($this->options['jwt_private_key']);
            if (!$key) {
                throw new smime_backend_error('PLUGIN_MISCONFIGURED', 'smime_jwt_private_key is not a readable private key', 0);
            }
            $details = openssl_pkey_get_details($key);
            $alg     = $details['type'] === OPENSSL_KEYTYPE_EC ? 'ES256' : 'RS256';
            $input   = self::b64url(json_encode(['alg' => $alg, 'typ' => 'JWT'])) . '.' . self::b64url(json_encode($payload));
            if (!openssl_sign($input, $signature, $key, OPENSSL_ALGO_SHA256)) {
                throw new smime_backend_error('PLUGIN_MISCONFIGURED', 'could not sign the host token', 0);
            }
            if ($alg === 'ES256') {
                $signature = self::ecdsa_der_to_jose($signature, 32);
            }
        }
        else {
            $secret = (string) ($this->options['jwt_secret'] ?? '');
            if (strlen($secret) < 32) {
                throw new smime_backend_error('PLUGIN_MISCONFIGURED', 'smime_jwt_secret must be set (at least 32 characters, the backend\'s SMIME_JWT_SECRET)', 0);
            }
            $input     = self::b64url(json_encode(['alg' => 'HS256', 'typ' => 'JWT'])) . '.' . self::b64url(json_encode($payload));
            $signature = hash_hmac('sha256', $input, $secret, true);
        }

        return ['token' => $input . '.' . self::b64url($signature), 'expiresAt' => $payload['exp']];
    }

    /**
     * Analyse a received message: POST /api/v1/messages/incoming.
     *
     * @param string      $raw    The message exactly as stored in IMAP
     * @param string|null $unlock The user's unlock credential (from the backend's cookie), if any
     *
     * @return array The backend's answer (layers, parts, content base64, ...)
     */
    public function incoming($raw, $unlock = null)
    {
        list(, $body) = $this->call('POST', '/api/v1/messages/incoming', $raw, 'message/rfc822', $unlock);

        return $body;
    }

    /**
     * Protect an outgoing message: POST /api/v1/messages/outgoing. Returns one copy for To/Cc (and the Sent folder)
     * and one per Bcc recipient, each the complete RFC 5322 message.
     *
     * @return array [['bcc' => string|null, 'raw' => string], ...]
     */
    public function outgoing($raw, $sign, $encrypt, $unlock = null, $protectHeaders = false)
    {
        $query = http_build_query([
            'sign'           => $sign ? 'true' : 'false',
            'encrypt'        => $encrypt ? 'true' : 'false',
            'protectHeaders' => $protectHeaders ? 'true' : 'false',
        ]);
        list(, $body) = $this->call('POST', '/api/v1/messages/outgoing?' . $query, $raw, 'message/rfc822', $unlock);

        $copies = [];
        foreach ((array) ($body['messages'] ?? []) as $m) {
            $decoded = base64_decode((string) ($m['message'] ?? ''), true);
            if ($decoded === false || $decoded === '') {
                throw new smime_backend_error('BACKEND_BAD_ANSWER', 'The S/MIME service answered without a message', 502);
            }
            $copies[] = ['bcc' => $m['bcc'] ?? null, 'raw' => $decoded];
        }
        if (empty($copies) || $copies[0]['bcc'] !== null) {
            throw new smime_backend_error('BACKEND_BAD_ANSWER', 'The S/MIME service answered without the main copy', 502);
        }

        return $copies;
    }

    /** GET /api/v1/session: whether the user's keys are unlocked for this credential. */
    public function session($unlock = null)
    {
        list(, $body) = $this->call('GET', '/api/v1/session', null, null, $unlock);

        return $body;
    }

    /**
     * One call. Answers [status, decoded JSON body]; any failure (unreachable, timeout, error answer, not JSON)
     * throws smime_backend_error with a stable code.
     */
    private function call($method, $path, $content, $type, $unlock)
    {
        $token   = $this->token()['token'];
        $headers = [
            'Authorization: Bearer ' . $token,
            'Accept: application/json',
            'Connection: close',
        ];
        if ($type) {
            $headers[] = 'Content-Type: ' . $type;
        }
        if ($unlock !== null && $unlock !== '') {
            $headers[] = 'X-Smime-Unlock: ' . preg_replace('/[^A-Za-z0-9._~+\/=-]/', '', $unlock);
        }

        $timeout = (float) ($this->options['timeout'] ?? 20);
        $http    = [
            'method'           => $method,
            'header'           => implode("\r\n", $headers),
            'timeout'          => $timeout,
            'ignore_errors'    => true,
            'follow_location'  => 0,
            'protocol_version' => 1.1,
        ];
        if ($content !== null) {
            $http['content'] = $content;
        }
        $ssl = ['verify_peer' => true, 'verify_peer_name' => true];
        if (!empty($this->options['ca_file'])) {
            $ssl['cafile'] = $this->options['ca_file'];
        }
        $context = stream_context_create(['http' => $http, 'ssl' => $ssl]);

        $started = microtime(true);
        $stream  = @fopen($this->url . $path, 'rb', false, $context);
        if ($stream === false) {
            $error = error_get_last();
            $timed = microtime(true) - $started >= $timeout - 0.05
                || ($error && stripos($error['message'], 'timed out') !== false);
            throw new smime_backend_error($timed ? 'BACKEND_TIMEOUT' : 'BACKEND_UNAVAILABLE',
                $timed ? 'The S/MIME service did not answer in time' : 'The S/MIME service cannot be reached', 503);
        }
        stream_set_timeout($stream, (int) ceil($timeout));
        $meta   = stream_get_meta_data($stream);
        $answer = stream_get_contents($stream, self::MAX_ANSWER_BYTES + 1);
        $after  = stream_get_meta_data($stream);
        fclose($stream);

        if (!empty($after['timed_out'])) {
            throw new smime_backend_error('BACKEND_TIMEOUT', 'The S/MIME service did not answer in time', 503);
        }
        if ($answer === false || strlen($answer) > self::MAX_ANSWER_BYTES) {
            throw new smime_backend_error('BACKEND_BAD_ANSWER', 'The S/MIME service answer could not be read', 502);
        }

        $status = 0;
        foreach ((array) ($meta['wrapper_data'] ?? []) as $line) {
            if (preg_match('#^HTTP/\S+\s+(\d{3})#', $line, $m)) {
                $status = (int) $m[1]; // the last status line wins (after a 100 Continue)
            }
        }

        $body = json_decode($answer, true);
        if ($status >= 200 && $status < 300 && is_array($body)) {
            return [$status, $body];
        }
        if (is_array($body) && isset($body['error']['code'])) {
            $e = $body['error'];
            throw new smime_backend_error((string) $e['code'], (string) ($e['message'] ?? $e['code']), $status, $e);
        }
        // A proxy's error page, or nothing: the service is not there.
        throw new smime_backend_error($status >= 500 || $status === 0 ? 'BACKEND_UNAVAILABLE' : 'BACKEND_BAD_ANSWER',
            'The S/MIME service answered HTTP ' . $status, $status ?: 503);
    }

    /** The name of the backend's unlock cookie for this user (backend/src/api/session/routes.ts unlockCookieName). */
    public static function unlock_cookie_name($email)
    {
        return 'smime_unlock_' . substr(hash('sha256', strtolower(trim($email))), 0, 12);
    }

    private static function b64url($bytes)
    {
        return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
    }

    /** ECDSA signature from OpenSSL's DER SEQUENCE { r, s } to JOSE's fixed-width r || s (RFC 7518 section 3.4). */
    private static function ecdsa_der_to_jose($der, $size)
    {
        $offset = 2 + ((ord($der[1]) & 0x80) ? (ord($der[1]) & 0x7f) : 0);
        $out    = '';
        for ($i = 0; $i < 2; $i++) {
            $len    = ord($der[$offset + 1]);
            $int    = ltrim(substr($der, $offset + 2, $len), "\0");
            $out   .= str_pad($int, $size, "\0", STR_PAD_LEFT);
            $offset += 2 + $len;
        }

        return $out;
    }
}

/** A failed backend call, with the backend's stable error code (or the plugin's BACKEND_* / PLUGIN_* codes). */
class smime_backend_error extends Exception
{
    public $error_code;
    public $status;
    public $details;

    public function __construct($code, $message, $status, array $details = [])
    {
        parent::__construct($message);
        $this->error_code = $code;
        $this->status     = $status;
        $this->details    = $details;
    }
}
