<?php

/**
 * S/MIME for Roundcube (issue 11): a thin adapter between Roundcube 1.6 and the S/MIME webmail backend.
 *
 * All S/MIME work (keys, signing, encryption, verification, decryption, certificates) is the backend's; this plugin
 * only moves bytes between Roundcube and it, and mounts the backend's own web components (served by the backend at
 * /plugin/smime-plugin.js) into Roundcube's compose, reading and settings screens:
 *
 *   identity  the logged-in Roundcube user, as a short-lived host token (the backend's JWT contract) minted here,
 *             for the plugin's server-side calls and, through the plugin.smime-token action, for the components
 *   reading   message_part_structure: an S/MIME message is fetched raw from IMAP, analysed by the backend, and its
 *             innermost (decrypted) entity replaces the message structure, so Roundcube's own MIME renderer shows it
 *             (HTML washing, attachments, inline images); message_body_prefix puts the status banner above the body
 *   compose   Sign/Encrypt toggles in the compose options; message_ready sends the message Roundcube built to the
 *             backend and replaces it with the protected copy (SMTP and the Sent folder alike); each Bcc recipient
 *             gets the copy the backend made for them; any failure stops the send (fail closed)
 *   settings  an "S/MIME" section hosting the backend's settings pane
 *
 * The user's unlock credential is the backend's HttpOnly cookie (SMIME_COOKIE_PATH=/ so it reaches Roundcube
 * too); the plugin forwards it as X-Smime-Unlock and never stores it.
 */

require_once __DIR__ . '/lib/smime_backend.php';

class smime extends rcube_plugin
{
    public $task = 'mail|settings';

    /** Nesting followed at most when looking for S/MIME parts in a message's structure (a crafted tree ends here). */
    const MAX_STRUCTURE_DEPTH = 16;

    /** Longest wait for the backend when the admin sets none: reading and sending both stop after it. */
    const DEFAULT_TIMEOUT_S = 20;

    /** @var rcmail */
    private $rc;
    /** @var smime_backend|null */
    private $backend;
    /** Backend answers (without content) by "folder:uid", for the messages analysed in this request. */
    private $analyses = [];
    /** Decrypted/unwrapped content by "folder:uid". */
    private $contents = [];
    /** smime_backend_error by "folder:uid" when the backend could not be asked. */
    private $failures = [];
    /** Whether the banner was put above a message's body already (by "folder:uid"). */
    private $banners = [];
    /** Copies for Bcc recipients, sent after the main copy went out. */
    private $bcc_copies = [];
    /** Envelope sender and SMTP options of the send in progress (from message_before_send). */
    private $envelope = null;
    /** The message being shown (message_load), for the banner. */
    private $shown = null;
    /** The parts this plugin put in place of a message's structure (by object id): served from memory. */
    private $unwrapped = [];
    /** Whether render_page set up the components already. */
    private $page_ready = false;

    public function init()
    {
        $this->rc = rcmail::get_instance();

        // An optional plugins/smime/config.inc.php; the same keys in Roundcube's main config work as well.
        $this->load_config();
        $this->add_texts('localization/', true);

        $this->register_action('plugin.smime-token', [$this, 'action_token']);
        $this->register_action('plugin.smime-prefs', [$this, 'action_prefs']);

        if ($this->rc->task == 'mail') {
            $this->add_hook('message_part_structure', [$this, 'part_structure']);
            $this->add_hook('message_part_body', [$this, 'part_body']);
            $this->add_hook('message_body_prefix', [$this, 'body_prefix']);
            $this->add_hook('message_load', [$this, 'message_load']);
            $this->add_hook('template_object_messagebody', [$this, 'messagebody']);

            if ($this->rc->action == 'send') {
                $this->add_hook('message_ready', [$this, 'message_ready']);
                $this->add_hook('message_before_send', [$this, 'before_send']);
                $this->add_hook('message_sent', [$this, 'message_sent']);
            }
            else if ($this->rc->action == 'compose') {
                $this->api->add_content($this->compose_controls(), 'composeoptions');
            }
        }
        else if ($this->rc->task == 'settings') {
            $this->add_hook('settings_actions', [$this, 'settings_actions']);
            $this->register_action('plugin.smime', [$this, 'action_settings']);
        }

        // Lock/unlock in Roundcube's task menu, on every page.
        $this->api->add_content(html::span(['id' => 'smime-taskbar', 'class' => 'smime-taskbar'], ''), 'taskbar');
        $this->add_hook('render_page', [$this, 'render_page']);
    }

    // ---- identity ------------------------------------------------------------------------------------------------

    /** The logged-in user's address, as the backend knows them (smime_user_email: '%u', '%l@%d' or 'identity'). */
    private function user_email()
    {
        $template = (string) $this->rc->config->get('smime_user_email', '%u');
        $username = (string) $this->rc->get_user_name();

        if ($template === 'identity' || ($template === '%u' && strpos($username, '@') === false)) {
            $identity = $this->rc->user ? $this->rc->user->get_identity() : null;

            return strtolower((string) ($identity['email'] ?? ''));
        }

        list($local, $domain) = array_pad(explode('@', $username, 2), 2, '');

        return strtolower(strtr($template, ['%u' => $username, '%l' => $local, '%d' => $domain]));
    }

    /** @return smime_backend */
    private function backend()
    {
        if (!$this->backend) {
            $config = $this->rc->config;
            $secret = (string) $config->get('smime_jwt_secret', '');
            if ($secret === '' && ($file = $config->get('smime_jwt_secret_file'))) {
                $secret = trim((string) @file_get_contents($file));
            }
            $private_key = '';
            if ($file = $config->get('smime_jwt_private_key_file')) {
                $private_key = (string) @file_get_contents($file);
            }

            $this->backend = new smime_backend(
                (string) $config->get('smime_backend_url', 'http://127.0.0.1:8080'),
                $this->user_email(),
                [
                    'jwt_secret'      => $secret,
                    'jwt_private_key' => $private_key,
                    'jwt_audience'    => (string) $config->get('smime_jwt_audience', 'smime'),
                    'jwt_issuer'      => (string) $config->get('smime_jwt_issuer', ''),
                    'token_lifetime'  => (int) $config->get('smime_token_lifetime', 300),
                    'timeout'         => (float) $config->get('smime_timeout', self::DEFAULT_TIMEOUT_S),
                    'ca_file'         => (string) $config->get('smime_backend_ca_file', ''),
                ]
            );
        }

        return $this->backend;
    }

    /** The user's unlock credential: the backend's cookie, which the browser sends to Roundcube as well. */
    private function unlock_credential()
    {
        $name = smime_backend::unlock_cookie_name($this->user_email());

        return isset($_COOKIE[$name]) && is_string($_COOKIE[$name]) ? $_COOKIE[$name] : null;
    }

    /** Browser requests to the plugin's own actions must carry Roundcube's request token (CSRF). */
    private function require_request_token()
    {
        if (rcube_utils::request_header('X-Roundcube-Request') !== $this->rc->get_request_token()) {
            $this->send_json(['error' => ['code' => 'INVALID_REQUEST', 'message' => 'Invalid request']], 403);
        }
    }

    private function send_json($data, $status = 200)
    {
        http_response_code($status);
        header('Content-Type: application/json; charset=utf-8');
        header('Cache-Control: no-store');
        header('X-Content-Type-Options: nosniff');
        echo json_encode($data);
        exit;
    }

    /** plugin.smime-token: a fresh host token for the components in the browser. */
    public function action_token()
    {
        $this->require_request_token();
        try {
            $this->send_json($this->backend()->token());
        }
        catch (smime_backend_error $e) {
            $this->log_error('token', $e);
            $this->send_json(['error' => ['code' => $e->error_code, 'message' => 'S/MIME is not configured']], 500);
        }
    }

    /** plugin.smime-prefs: the user's defaults for new messages (Sign, Encrypt), kept in Roundcube's preferences. */
    public function action_prefs()
    {
        $this->require_request_token();
        $input = json_decode((string) file_get_contents('php://input'), true);
        if (!is_array($input) || !isset($input['sign'], $input['encrypt'])
            || !is_bool($input['sign']) || !is_bool($input['encrypt'])
        ) {
            $this->send_json(['error' => ['code' => 'BAD_REQUEST', 'message' => 'Expected {"sign": bool, "encrypt": bool}']], 400);
        }
        $ciphers = ['aes-256-cbc', 'aes-128-cbc', 'aes-256-gcm', 'aes-128-gcm'];
        $cipher  = isset($input['cipher']) && in_array($input['cipher'], $ciphers, true) ? $input['cipher'] : null;

        $this->rc->user->save_prefs([
            'smime_sign_default'    => $input['sign'],
            'smime_encrypt_default' => $input['encrypt'],
            'smime_cipher'          => $cipher,
            // Header protection (RFC 9788): optional in the request, off unless chosen.
            'smime_protect_headers_default' => isset($input['protectHeaders']) && $input['protectHeaders'] === true,
        ]);
        $this->send_json($this->defaults());
    }

    private function defaults()
    {
        $d = [
            'sign'    => (bool) $this->rc->config->get('smime_sign_default', true),
            'encrypt' => (bool) $this->rc->config->get('smime_encrypt_default', false),
            'protectHeaders' => (bool) $this->rc->config->get('smime_protect_headers_default', false),
        ];
        if ($cipher = $this->rc->config->get('smime_cipher')) {
            $d['cipher'] = $cipher;
        }

        return $d;
    }

    /** The components and their configuration on every page of the logged-in UI. */
    public function render_page($p)
    {
        if (empty($this->rc->user->ID) || $this->rc->output->type != 'html' || !empty($this->page_ready)) {
            return $p;
        }
        $this->page_ready = true;

        $browser = rtrim((string) $this->rc->config->get('smime_browser_url', ''), '/');
        $this->rc->output->set_env('smime', [
            'apiBase'  => $browser,
            'bundle'   => $browser . '/plugin/smime-plugin.js',
            'user'     => $this->user_email(),
            'defaults' => $this->defaults(),
        ]);
        $this->include_stylesheet($this->local_skin_path() . '/smime.css');
        $this->include_script('smime.js');

        return $p;
    }

    // ---- reading --------------------------------------------------------------------------------------------------

    /** Whether a structure from IMAP has an S/MIME part anywhere (the message itself or nested). */
    private static function mentions_smime($part, $depth = 0)
    {
        if (!is_object($part) || $depth > self::MAX_STRUCTURE_DEPTH) {
            return false;
        }
        $type = strtolower((string) $part->mimetype);
        if ($type === 'application/pkcs7-mime' || $type === 'application/x-pkcs7-mime') {
            return true;
        }
        if ($type === 'multipart/signed') {
            $protocol = strtolower((string) ($part->ctype_parameters['protocol'] ?? ''));
            if ($protocol === 'application/pkcs7-signature' || $protocol === 'application/x-pkcs7-signature') {
                return true;
            }
        }
        // RFC 8551 section 3.2.2: some clients label S/MIME as octet-stream with a .p7m name.
        if ($type === 'application/octet-stream' && preg_match('/\.p7m$/i', (string) $part->filename)) {
            return true;
        }
        foreach ((array) $part->parts as $child) {
            if (self::mentions_smime($child, $depth + 1)) {
                return true;
            }
        }

        return false;
    }

    private static function message_key($message)
    {
        return $message->folder . ':' . $message->uid;
    }

    /** Ask the backend about a message once per request; null when it could not be asked (see $failures). */
    private function analyse($message)
    {
        $key = self::message_key($message);
        if (array_key_exists($key, $this->analyses)) {
            return $this->analyses[$key];
        }
        $this->analyses[$key] = null;

        $raw = $this->rc->storage->get_raw_body($message->uid);
        if (!is_string($raw) || $raw === '') {
            $this->failures[$key] = new smime_backend_error('MESSAGE_UNREADABLE', 'The message could not be read from the mail server', 0);

            return null;
        }

        try {
            $answer = $this->backend()->incoming($raw, $this->unlock_credential());
        }
        catch (smime_backend_error $e) {
            $this->failures[$key] = $e;
            $this->log_error('incoming', $e);

            return null;
        }

        $this->contents[$key] = base64_decode((string) ($answer['content'] ?? ''), true);
        unset($answer['content']);

        return $this->analyses[$key] = $answer;
    }

    private static function encrypted_layers($answer)
    {
        return count(array_filter((array) ($answer['layers'] ?? []), function ($l) { return ($l['kind'] ?? '') === 'encrypted'; }));
    }

    /**
     * message_part_structure: for a message with S/MIME in it, ask the backend; when it unwrapped the message
     * (decrypted, or verified a signed wrapper), the innermost entity replaces the structure Roundcube goes on to
     * render. Only the message itself is handled (the backend decides which nested parts protect nothing).
     */
    public function part_structure($p)
    {
        $message = $p['object'];
        if (!empty($p['recursive']) || !empty($message->context) || !self::mentions_smime($p['structure'])) {
            return $p;
        }
        // Everything that renders, downloads or quotes the message; not the list, not "view source".
        if (!in_array($this->rc->action, ['show', 'preview', 'print', 'get', 'compose'])) {
            return $p;
        }

        $answer = $this->analyse($message);
        if ($answer === null) {
            return $p; // the banner says the service is unavailable; the message is shown as stored
        }
        $key       = self::message_key($message);
        $encrypted = self::encrypted_layers($answer);

        if ($encrypted > 0 && $this->rc->action == 'compose') {
            // Replies and forwards of encrypted mail start with Encrypt on.
            $this->rc->output->set_env('smime_force_encrypt', true);
        }

        // A reply must not quote the plaintext of a ciphertext someone wrapped into their own encrypted message (a
        // decryption oracle, cf. CVE-2019-10740): in compose only a single encrypted layer is opened.
        $unwrap = !empty($answer['unwrapped']) && !($this->rc->action == 'compose' && $encrypted > 1);

        if ($unwrap && is_string($this->contents[$key]) && $this->contents[$key] !== '') {
            $content = preg_replace('/\r?\n/', "\r\n", $this->contents[$key]);
            $struct  = rcube_mime::parse_message($content);
            $this->replace_structure($p, $struct, strlen($content));
        }
        else if ($encrypted > 0) {
            $locked = array_filter((array) ($answer['layers'] ?? []), function ($l) { return ($l['status'] ?? '') === 'locked'; });
            if ($this->rc->action == 'compose' && $locked) {
                // Nothing to quote yet: the compose page offers to unlock and start again.
                $this->rc->output->set_env('smime_quote_locked', true);
            }
            $this->locked_placeholder($p);
        }

        return $p;
    }

    /** Put the unwrapped entity in place of the message's structure (the way Roundcube's enigma plugin does it). */
    private function replace_structure(&$p, $struct, $size)
    {
        $message = $p['object'];
        $old_id  = $p['structure']->mime_id;

        foreach (array_keys($message->mime_parts) as $id) {
            if (!$old_id || $id == $old_id || strpos($id, $old_id . '.') === 0) {
                unset($message->mime_parts[$id]);
            }
        }

        // The outer header (From, To, Subject, Date) stays what Roundcube shows; the entity's own fields add to it.
        $struct->headers  = array_merge($p['structure']->headers, $struct->headers);
        $struct->size     = $size;
        $struct->filename = $p['structure']->filename;
        $this->adopt_part($struct, $message, $old_id);

        $p['structure'] = $struct;
        $p['mimetype']  = $struct->mimetype;
    }

    private function adopt_part($part, $message, $old_id)
    {
        // The body is in memory (decoded): never fetched from IMAP by this part number, never decoded again. These
        // parts live in this request only: the message object Roundcube caches (messages_cache) keeps the structure
        // IMAP gave, and a test proves no decrypted byte reaches the cache.
        $part->encoding = 'stream';
        $this->unwrapped[spl_object_id($part)] = true;
        if ($old_id) {
            $part->mime_id = !$part->mime_id ? $old_id : ($old_id . '.' . $part->mime_id);
        }
        $message->mime_parts[$part->mime_id] = $part;
        foreach ((array) $part->parts as $child) {
            $this->adopt_part($child, $message, $old_id);
        }
    }

    /** An encrypted message that stayed closed: one short text part instead, so the banner has a place. */
    private function locked_placeholder(&$p)
    {
        $message = $p['object'];
        $part    = new rcube_message_part();
        $part->mime_id         = $p['structure']->mime_id ?: '1';
        $part->ctype_primary   = 'text';
        $part->ctype_secondary = 'plain';
        $part->mimetype        = 'text/plain';
        $part->charset         = RCUBE_CHARSET;
        $part->type            = 'content';
        $part->encoding        = 'stream';
        // In compose the placeholder would be quoted into the reply: there it stays empty.
        $part->body            = $this->rc->action == 'compose' ? ' ' : $this->gettext('encryptedplaceholder');
        $part->size            = strlen($part->body);
        $this->unwrapped[spl_object_id($part)] = true;

        $message->mime_parts = [$part->mime_id => $part];
        $message->parts[]    = $part;
        $p['abort']          = true;
    }

    /**
     * message_part_body: parts of an unwrapped message are served from memory. One without a body (a multipart
     * container) must not be fetched from IMAP by its number, which there names a part of the ciphertext.
     */
    public function part_body($p)
    {
        if (isset($this->unwrapped[spl_object_id($p['part'])]) && $p['part']->body === null) {
            $p['part']->body = '';
        }

        return $p;
    }

    /** message_load: remember the message shown (for the banner) and tell the page whether S/MIME looked at it. */
    public function message_load($p)
    {
        $message     = $p['object'];
        $this->shown = $message;
        $key     = self::message_key($message);
        if (array_key_exists($key, $this->analyses)) {
            $failure = $this->failures[$key] ?? null;
            $this->rc->output->set_env('smime_message', [
                'uid'   => $message->uid,
                'error' => $failure ? $failure->error_code : null,
            ]);
            $this->show_protected_subject($message, $this->analyses[$key]);
        }

        return $p;
    }

    /**
     * Header protection (RFC 9788): the Subject the sender protected is shown, and replied to, in place of the outer
     * one (an encrypted message says "[...]" outside). Only when the backend unwrapped the message: the protected
     * fields are inside what it decrypted or verified.
     */
    private function show_protected_subject($message, $answer)
    {
        if (empty($answer['unwrapped']) || empty($answer['headerProtection']['fields'])) {
            return;
        }
        foreach ((array) $answer['headerProtection']['fields'] as $field) {
            if (strcasecmp((string) ($field['name'] ?? ''), 'subject') === 0 && is_string($field['value'] ?? null)) {
                $subject          = str_replace(["\r", "\n"], '', $field['value']);
                $message->subject = $subject;
                // Roundcube decodes the header it shows: as an encoded word, UTF-8 text arrives exactly as it is.
                $message->headers->subject = '=?UTF-8?B?' . base64_encode($subject) . '?=';
                return;
            }
        }
    }

    /** The banner above the body: the component mounts here; the text inside is what shows without it. */
    private function banner($message)
    {
        $key = self::message_key($message);
        if (!array_key_exists($key, $this->analyses) || !empty($this->banners[$key])) {
            return '';
        }
        $this->banners[$key] = true;

        if ($failure = $this->failures[$key] ?? null) {
            $label = in_array($failure->error_code, ['BACKEND_UNAVAILABLE', 'BACKEND_TIMEOUT']) ? 'readunavailable' : 'readfailed';
            $text  = $this->gettext(['name' => $label, 'vars' => ['code' => $failure->error_code]]);
            $class = 'boxerror';
        }
        else {
            $text  = $this->gettext('readchecked');
            $class = 'boxinformation';
        }

        $attrs = ['class' => 'smime-status-host', 'data-smime-uid' => $message->uid];
        if ($this->analyses[$key] !== null) {
            // What the banner component shows; html::div escapes it as an attribute value.
            $attrs['data-smime-analysis'] = json_encode($this->analyses[$key]);
        }

        return html::div($attrs, html::div(['class' => 'smime-fallback ' . $class, 'role' => 'status'], rcube::Q($text)));
    }

    public function body_prefix($p)
    {
        $message = $p['message'] ?? $p['part'];
        if ($message instanceof rcube_message) {
            $p['prefix'] = $this->banner($message) . $p['prefix'];
        }

        return $p;
    }

    /** A message with no displayable part still gets its banner, at the top of the body. */
    public function messagebody($p)
    {
        if ($this->shown instanceof rcube_message) {
            $p['content'] = $this->banner($this->shown) . $p['content'];
        }

        return $p;
    }

    // ---- compose --------------------------------------------------------------------------------------------------

    /** The compose options: where the Sign/Encrypt component mounts, and the fields it keeps up to date. */
    private function compose_controls()
    {
        $d      = $this->defaults();
        $hidden = new html_hiddenfield();
        $hidden->add(['name' => '_smime_sign', 'id' => 'smime-sign-field', 'value' => $d['sign'] ? '1' : '0']);
        $hidden->add(['name' => '_smime_encrypt', 'id' => 'smime-encrypt-field', 'value' => $d['encrypt'] ? '1' : '0']);
        $hidden->add(['name' => '_smime_protect_headers', 'id' => 'smime-protect-headers-field', 'value' => $d['protectHeaders'] ? '1' : '0']);

        return html::div(['class' => 'form-group row smime-compose-row'],
            html::div(['id' => 'smime-compose', 'class' => 'smime-compose col-12'],
                html::span('smime-fallback', rcube::Q($this->gettext('composeloading'))))
        ) . $hidden->show();
    }

    /**
     * message_ready: the message Roundcube built goes to the backend, and the protected copy replaces it for both the
     * SMTP delivery and the Sent folder. Anything wrong stops the send here: nothing leaves unprotected.
     */
    public function message_ready($p)
    {
        $sign    = rcube_utils::get_input_string('_smime_sign', rcube_utils::INPUT_POST) === '1';
        $encrypt = rcube_utils::get_input_string('_smime_encrypt', rcube_utils::INPUT_POST) === '1';
        if (!$sign && !$encrypt) {
            return $p;
        }
        // Drafts are Roundcube's own (see README: drafts of protected messages).
        if (!empty($_POST['_draft'])) {
            return $p;
        }

        $raw = $p['message']->getMessage();
        if (!is_string($raw)) {
            $this->refuse_send(new smime_backend_error('MESSAGE_NOT_BUILT', 'Roundcube could not build the message', 0));
        }

        try {
            $protect = rcube_utils::get_input_string('_smime_protect_headers', rcube_utils::INPUT_POST) === '1';
            $copies  = $this->backend()->outgoing($raw, $sign, $encrypt, $this->unlock_credential(), $protect);
            require_once __DIR__ . '/lib/smime_mime_message.php';
            $p['message'] = new smime_mime_message($p['message'], $copies[0]['raw']);
        }
        catch (smime_backend_error $e) {
            $this->refuse_send($e);
        }
        catch (InvalidArgumentException $e) {
            $this->refuse_send(new smime_backend_error('BACKEND_BAD_ANSWER', $e->getMessage(), 502));
        }
        $this->bcc_copies = array_slice($copies, 1);

        return $p;
    }

    /** Stop the send: an error naming the reason (and the recipients), the compose window stays as it was. */
    private function refuse_send(smime_backend_error $e)
    {
        $code    = $e->error_code;
        $missing = [];
        foreach ((array) ($e->details['missing'] ?? []) as $m) {
            if (!empty($m['email'])) {
                $missing[] = (string) $m['email'];
            }
        }

        switch ($code) {
            case 'RECIPIENT_CERTIFICATE_MISSING':
                $label = 'sendmissingcerts';
                break;
            case 'LOCKED':
            case 'PASSPHRASE_CHANGE_REQUIRED':
                $label = 'sendlocked';
                break;
            case 'BACKEND_UNAVAILABLE':
            case 'BACKEND_TIMEOUT':
                $label = 'sendunavailable';
                break;
            default:
                $label = 'sendrefused';
        }
        if ($label != 'sendmissingcerts' && $label != 'sendlocked') {
            $this->log_error('outgoing', $e);
        }

        $vars = ['recipients' => implode(', ', $missing), 'code' => $code, 'reason' => $e->getMessage()];
        $this->rc->output->show_message('smime.' . $label, 'error', $vars, true, 20);
        $this->rc->output->command('plugin.smime_send_blocked', ['code' => $code, 'missing' => $missing]);
        // Ends the request: Roundcube neither delivers nor files anything, and the compose window keeps the draft.
        $this->rc->output->send('iframe');
    }

    public function before_send($p)
    {
        if ($p['message'] instanceof smime_mime_message) {
            $this->envelope = ['from' => $p['from'], 'options' => $p['options']];
        }

        return $p;
    }

    /** message_sent: the main copy went out; now each Bcc recipient's own copy, to that recipient alone. */
    public function message_sent($p)
    {
        if (empty($this->bcc_copies) || !$this->envelope || !is_object($this->rc->smtp)) {
            return $p;
        }
        $copies           = $this->bcc_copies;
        $this->bcc_copies = [];
        $failed           = [];
        foreach ($copies as $copy) {
            $at   = strpos($copy['raw'], "\r\n\r\n");
            $sent = $at !== false && $this->rc->smtp->send_mail($this->envelope['from'], [$copy['bcc']],
                substr($copy['raw'], 0, $at + 2), substr($copy['raw'], $at + 4), (array) $this->envelope['options']);
            if (!$sent) {
                $failed[] = $copy['bcc'];
            }
        }
        if ($failed) {
            rcube::raise_error(['code' => 800, 'type' => 'smtp', 'file' => __FILE__, 'line' => __LINE__,
                'message' => 'S/MIME: the Bcc copies for ' . count($failed) . ' recipient(s) were not accepted'], true, false);
            $this->rc->output->show_message('smime.bccfailed', 'warning', ['recipients' => implode(', ', $failed)], true, 20);
        }

        return $p;
    }

    // ---- settings -------------------------------------------------------------------------------------------------

    public function settings_actions($args)
    {
        $args['actions'][] = [
            'action' => 'plugin.smime',
            'class'  => 'smime',
            'label'  => 'settingstitle',
            'title'  => 'settingsdescription',
            'domain' => 'smime',
        ];

        return $args;
    }

    public function action_settings()
    {
        $this->register_handler('plugin.body', [$this, 'settings_body']);
        $this->rc->output->set_pagetitle($this->gettext('settingstitle'));
        $this->rc->output->send('plugin');
    }

    public function settings_body()
    {
        return html::div(['id' => 'smime-settings', 'class' => 'smime-settings formcontent scroller'],
            html::p('smime-fallback', rcube::Q($this->gettext('settingsloading'))));
    }

    // ---- logging --------------------------------------------------------------------------------------------------

    /** Codes and messages only: never a message's bytes, a token or a credential. */
    private function log_error($what, smime_backend_error $e)
    {
        rcube::raise_error([
            'code'    => 500,
            'type'    => 'php',
            'file'    => __FILE__,
            'line'    => __LINE__,
            'message' => sprintf('S/MIME %s for %s: %s (%s)', $what, $this->user_email(), $e->error_code, $e->getMessage()),
        ], true, false);
    }
}
