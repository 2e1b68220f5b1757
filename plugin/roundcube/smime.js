/**
 * S/MIME for Roundcube: the browser half of the plugin (issue 11). It loads the backend's own components
 * (/plugin/smime-plugin.js, the host contract of plugin/README.md) and mounts them where the PHP half left room:
 *
 *   compose   #smime-compose in the compose options: Sign/Encrypt toggles, live readiness of the recipients typed
 *             into Roundcube's To/Cc/Bcc fields; the hidden fields _smime_sign/_smime_encrypt carry the choice
 *             to the server, which protects the message (message_ready)
 *   reading   .smime-status-host above the body: the status banner of the analysis the server made; after
 *             "Unlock to read" the message is asked for again and its body swapped in place (no page reload)
 *   settings  #smime-settings: the settings pane; the defaults are kept in Roundcube's user preferences
 *   taskbar   #smime-taskbar: lock/unlock
 *
 * The components call the backend with a short-lived token the plugin mints for the logged-in user
 * (plugin.smime-token, protected by Roundcube's request token).
 */
(function () {
  'use strict';

  var rc = window.rcmail;
  if (!rc || !rc.env || !rc.env.smime) return;
  var env = rc.env.smime;

  /** Renew the token this long before it expires (seconds). */
  var TOKEN_MARGIN_S = 30;
  /** How often Roundcube's recipient fields are read (ms): its recipient widget changes them without an event. */
  var RECIPIENT_POLL_MS = 400;

  function text(name, vars) {
    var t = rc.get_label(name, 'smime');
    Object.keys(vars || {}).forEach(function (k) {
      t = t.split('$' + k).join(vars[k]);
    });
    return t;
  }

  function ajaxUrl(action) {
    return rc.url(action, { _remote: 1 });
  }

  var token = null;
  var tokenPending = null;
  function getToken() {
    if (token && token.expiresAt - TOKEN_MARGIN_S > Date.now() / 1000) return Promise.resolve(token.token);
    if (!tokenPending) {
      tokenPending = fetch(ajaxUrl('plugin.smime-token'), {
        credentials: 'same-origin',
        headers: { 'X-Roundcube-Request': rc.env.request_token },
      })
        .then(function (r) {
          if (!r.ok) throw new Error('token: HTTP ' + r.status);
          return r.json();
        })
        .then(function (t) {
          token = t;
          return t.token;
        })
        .catch(function (e) {
          rc.display_message(text('tokenfailed'), 'error');
          throw e;
        })
        .finally(function () {
          tokenPending = null;
        });
    }
    return tokenPending;
  }

  // The user's defaults live in Roundcube's preferences (the same on every browser), not in localStorage.
  var preferences = {
    load: function () {
      return Object.assign({}, env.defaults);
    },
    save: function (user, d) {
      env.defaults = Object.assign({}, d);
      fetch(ajaxUrl('plugin.smime-prefs'), {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-Roundcube-Request': rc.env.request_token },
        body: JSON.stringify({
          sign: !!d.sign,
          encrypt: !!d.encrypt,
          cipher: d.cipher || null,
          protectHeaders: !!d.protectHeaders,
        }),
      }).catch(function () {});
    },
  };

  /** Addresses in a Roundcube recipient field ("Name <a@b>, c@d, "). */
  function addresses(value) {
    var out = [];
    var re = /[^\s<>,;:"()[\]]+@[^\s<>,;:"()[\]]+/g;
    var m;
    while ((m = re.exec(value || ''))) out.push(m[0].toLowerCase());
    return out;
  }

  function unavailable() {
    document.querySelectorAll('#smime-compose .smime-fallback, #smime-settings .smime-fallback').forEach(function (el) {
      el.textContent = text('componentsunavailable');
      el.classList.add('smime-error');
    });
    var host = document.querySelector('.smime-status-host .boxinformation');
    if (host) {
      host.textContent = text('componentsunavailable');
      host.className = 'smime-fallback boxerror';
    }
  }

  function mountTaskbar(plugin) {
    var bar = document.getElementById('smime-taskbar');
    return bar && !rc.env.framed ? plugin.mountUnlockControl(bar) : null;
  }

  function mountCompose(plugin) {
    var host = document.getElementById('smime-compose');
    if (!host) return;
    host.textContent = '';
    var compose = plugin.mountComposeControls(host);
    rc.smime_compose = compose;
    var autosave = rc.env.draft_autosave;

    // The choice travels in _smime_sign/_smime_encrypt. Elastic keeps compose options outside the form and copies
    // each into the form on its change event, so every copy is set and the change announced.
    function setField(name, on) {
      document.querySelectorAll('input[name="' + name + '"]').forEach(function (input) {
        if (input.value !== (on ? '1' : '0')) {
          input.value = on ? '1' : '0';
          input.dispatchEvent(new Event('change', { bubbles: true }));
        }
      });
    }

    function sync() {
      var st = compose.state();
      setField('_smime_sign', st.sign);
      setField('_smime_encrypt', st.encrypt);
      setField('_smime_protect_headers', st.protectHeaders);
      // A draft is stored in the Drafts folder as written: no automatic drafts while Encrypt is on.
      rc.env.draft_autosave = st.encrypt ? 0 : autosave;
      if (st.encrypt && rc.save_timer) clearTimeout(rc.save_timer);
    }
    compose.element.addEventListener('smime-compose-change', sync);
    // Replies and forwards of encrypted mail start with Encrypt on.
    if (rc.env.smime_force_encrypt) compose.element.encrypt = true;
    sync();

    var last = null;
    function readRecipients() {
      var list = [];
      ['_to', '_cc', '_bcc'].forEach(function (id) {
        var field = document.getElementById(id);
        if (field) list = list.concat(addresses(field.value));
      });
      var key = list.join(',');
      if (key !== last) {
        last = key;
        compose.setRecipients(list);
      }
    }
    readRecipients();
    setInterval(readRecipients, RECIPIENT_POLL_MS);
    document.addEventListener('change', readRecipients, true);

    // Before Roundcube submits: the fields may have changed since the last poll; a recipient known to lack a
    // certificate stops the send here already (the server checks again and fails closed either way).
    rc.addEventListener('beforesend', function () {
      readRecipients();
      sync();
      var st = compose.state();
      if (st.encrypt && !st.checking && st.missing.length) {
        rc.display_message(text('sendblockedmissing', { recipients: st.missing.join(', ') }), 'error', 15000);
        return false;
      }
    });

    // The server refused the send (message_ready). Locked key: unlock, then send again with nothing retyped.
    rc.addEventListener('plugin.smime_send_blocked', function (d) {
      if (d && (d.code === 'LOCKED' || d.code === 'PASSPHRASE_CHANGE_REQUIRED')) {
        plugin.unlock('sign').then(function (ok) {
          if (!ok) {
            rc.display_message(text('keptlocked'), 'warning', 10000);
            return;
          }
          rc.display_message(text('resendafterunlock'), 'notice');
          rc.command('send', '');
        });
      }
      else if (d && d.code === 'RECIPIENT_CERTIFICATE_MISSING') {
        last = null;
        readRecipients();
      }
    });

    // Quoting an encrypted message needs the key: unlock, then start the reply again (nothing typed yet).
    if (rc.env.smime_quote_locked) {
      rc.display_message(text('unlocktoquote'), 'notice', 10000);
      plugin.unlock('decrypt').then(function (ok) {
        if (ok) location.reload();
      });
    }
  }

  function mountStatus(plugin) {
    var host = document.querySelector('.smime-status-host[data-smime-analysis]');
    if (!host) return;
    var analysis;
    try {
      analysis = JSON.parse(host.getAttribute('data-smime-analysis'));
    }
    catch {
      return;
    }
    var fallback = host.querySelector('.smime-fallback');
    if (fallback) fallback.hidden = true;
    var status = plugin.mountMessageStatus(host);
    status.present(analysis);
    // The banner's own "Unlock to read": the plugin unlocks, then this re-renders (smime-unlocked also fires; the
    // second call finds a re-render running).
    status.onUnlocked(function () {
      rerender(plugin);
    });
  }

  /** The rcmail.set_env({...}) of a Roundcube page (one JSON object on one line). */
  function pageEnv(html) {
    var m = /rcmail\.set_env\((\{.*\})\);\s*$/m.exec(html);
    if (!m) return {};
    try {
      return JSON.parse(m[1]);
    }
    catch {
      return {};
    }
  }

  var rerendering = false;

  /**
   * After an unlock: Roundcube renders the message again (its own MIME renderer, now with the decrypted content),
   * and the message's content (attachment list, body, banner) is swapped in place; no page reload.
   */
  function rerender(plugin) {
    if (rerendering) return;
    rerendering = true;
    fetch(location.href, { credentials: 'same-origin' })
      .then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var swapped = ['#message-content', '#messagebody'].some(function (sel) {
          var now = document.querySelector(sel);
          var next = doc.querySelector(sel);
          if (!now || !next) return false;
          now.replaceWith(document.importNode(next, true));
          return true;
        });
        if (!swapped) throw new Error('nothing to swap');
        // What Roundcube's attachment commands read about the parts of the message shown.
        var next = pageEnv(html);
        ['attachments', 'smime_message'].forEach(function (k) {
          if (k in next) rc.set_env(k, next[k]);
        });
        mountStatus(plugin);
        rc.display_message(text('unlockedrerender'), 'confirmation');
      })
      .catch(function () {
        location.reload();
      })
      .finally(function () {
        rerendering = false;
      });
  }

  /** Whether the message shown waits for a key (its banner has a locked layer). */
  function showsLocked() {
    var host = document.querySelector('.smime-status-host[data-smime-analysis]');
    if (!host) return false;
    try {
      return JSON.parse(host.getAttribute('data-smime-analysis')).layers.some(function (l) {
        return l.kind === 'encrypted' && l.status === 'locked';
      });
    }
    catch {
      return false;
    }
  }

  /**
   * Roundcube shows a message in a frame: an unlock in one window (the task bar's button, a frame's prompt) is
   * told to the others, so the task bar says "unlocked" and a message waiting for the key opens.
   */
  function syncUnlocks(plugin, taskbar) {
    rc.smime_unlocked = function () {
      if (taskbar) taskbar.element.refresh();
      if (showsLocked()) rerender(plugin);
    };
    document.addEventListener('smime-unlocked', function () {
      var windows = [window.parent, document.getElementById('messagecontframe') && document.getElementById('messagecontframe').contentWindow];
      windows.forEach(function (w) {
        try {
          if (w && w !== window && w.rcmail && w.rcmail.smime_unlocked) w.rcmail.smime_unlocked();
        }
        catch {
          /* another origin: nothing to tell */
        }
      });
      if (showsLocked()) rerender(plugin);
    });
  }

  function mountSettings(plugin) {
    var host = document.getElementById('smime-settings');
    if (!host) return;
    host.textContent = '';
    plugin.mountSettings(host);
  }

  import(env.bundle).then(
    function (mod) {
      var plugin = mod.createSmimePlugin({
        apiBase: env.apiBase,
        userEmail: env.user,
        getToken: getToken,
        preferences: preferences,
      });
      rc.smime = plugin;
      syncUnlocks(plugin, mountTaskbar(plugin));
      mountCompose(plugin);
      mountStatus(plugin);
      mountSettings(plugin);
      document.documentElement.setAttribute('data-smime-ready', 'true');
    },
    function () {
      unavailable();
      document.documentElement.setAttribute('data-smime-ready', 'unavailable');
    }
  );
})();
