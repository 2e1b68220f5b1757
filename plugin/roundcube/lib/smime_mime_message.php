<?php

/**
 * The message Roundcube sends and files once the backend has protected it (issue 11). Roundcube's send action
 * builds a Mail_mime object and hands it to the `message_ready` hook; this subclass replaces it and answers every
 * call Roundcube makes afterwards (SMTP delivery in rcube::deliver_message, the Sent copy in
 * rcmail_sendmail::save_message, recipient collection) with the backend's bytes, untouched: re-encoding a signed
 * message would break its signature.
 */
class smime_mime_message extends Mail_mime
{
    /** Header block, every field ending in CRLF, without the empty line. */
    private $head;
    /** Body, after the empty line. */
    private $content;

    /**
     * @param Mail_mime $original The message Roundcube built (for its build parameters)
     * @param string    $raw      The protected message from the backend (CRLF line endings)
     */
    public function __construct($original, $raw)
    {
        parent::__construct(['eol' => "\r\n"]);
        foreach (array_keys($this->build_params) as $param) {
            $this->build_params[$param] = $original->getParam($param);
        }
        $this->build_params['eol'] = "\r\n";
        // Roundcube would otherwise write the body to a temporary file through get(): we already hold it.
        $this->build_params['delay_file_io'] = false;

        $at = strpos($raw, "\r\n\r\n");
        if ($at === false) {
            throw new InvalidArgumentException('the protected message has no header/body separator');
        }
        $this->head    = substr($raw, 0, $at + 2);
        $this->content = substr($raw, $at + 4);
        $this->headers = self::parse_head($this->head);
    }

    /** Header fields by name (unfolded), as Mail_mime::headers() answers; later fields of one name win. */
    private static function parse_head($head)
    {
        $out = [];
        foreach (preg_split('/\r\n(?![ \t])/', rtrim($head, "\r\n")) as $field) {
            $colon = strpos($field, ':');
            if ($colon === false) {
                continue;
            }
            $name  = implode('-', array_map('ucfirst', explode('-', strtolower(trim(substr($field, 0, $colon))))));
            $name  = $name === 'Message-Id' ? 'Message-ID' : ($name === 'Mime-Version' ? 'MIME-Version' : $name);
            $out[$name] = trim(preg_replace('/\r\n[ \t]+/', ' ', substr($field, $colon + 1)));
        }

        return $out;
    }

    /**
     * The header fields. Roundcube only reads them (To, Cc, Bcc, Message-ID) or adds a Bcc back after delivery; the
     * protected message's own header block is what goes out, so additions are kept for readers of this array only.
     */
    public function headers($headers = [], $overwrite = false, $skip_content = false)
    {
        foreach ((array) $headers as $name => $value) {
            if ($value === null) {
                unset($this->headers[$name]);
            }
            else if ($overwrite || !isset($this->headers[$name])) {
                $this->headers[$name] = $value;
            }
        }

        return $this->headers;
    }

    /**
     * The header block as it goes out. A Bcc field is never in it (the backend drops Bcc from what it protects); a
     * caller asking to drop one (rcube::deliver_message) gets the same block.
     */
    public function txtHeaders($xtra_headers = null, $overwrite = false, $skip_content = false)
    {
        return $this->head;
    }

    public function get($params = null, $filename = null, $skip_head = false)
    {
        if ($filename) {
            $fh = is_resource($filename) ? $filename : fopen($filename, 'ab');
            if (!$fh || fwrite($fh, $this->content) === false) {
                return self::raiseError('Unable to write the protected message to ' . (is_resource($filename) ? 'a stream' : $filename));
            }
            if (!is_resource($filename)) {
                fclose($fh);
            }

            return null;
        }

        return $this->content;
    }

    public function getMessage($separation = null, $params = null, $headers = null, $overwrite = false)
    {
        return $this->head . "\r\n" . $this->content;
    }

    public function getMessageBody($params = null)
    {
        return $this->content;
    }

    public function isMultipart()
    {
        return true;
    }
}
