/* "获取验证码" without leaving the page: POST the mobile number to /register/code, show the
 * answer under the field and count down until a new code may be asked for. Without JavaScript the
 * button posts the whole form instead (see registration/_fields.html, code_row). */
(function () {
  'use strict';
  document.querySelectorAll('[data-send-code]').forEach(function (button) {
    var status = document.getElementById('f-verification_code-status');
    var label = button.textContent;
    function say(text, kind) {
      status.textContent = text;
      status.className = 'form-text' + (kind ? ' text-' + kind : '');
    }
    function countDown(seconds) {
      if (seconds <= 0) { button.disabled = false; button.textContent = label; return; }
      button.disabled = true;
      button.textContent = button.getAttribute('data-wait').replace('{s}', seconds);
      setTimeout(function () { countDown(seconds - 1); }, 1000);
    }
    button.addEventListener('click', function (event) {
      event.preventDefault();
      var mobile = document.getElementById(button.getAttribute('data-mobile-field'));
      button.disabled = true;
      var data = new FormData();
      data.append('csrf_token', button.form.elements.csrf_token.value);
      data.append('mobile', mobile ? mobile.value.trim() : '');
      fetch(button.getAttribute('data-send-code'), {
        method: 'POST', credentials: 'same-origin', headers: { Accept: 'application/json' }, body: data
      }).then(function (answer) {
        return answer.json().then(function (body) { return { ok: answer.ok, body: body }; });
      }).then(function (result) {
        var body = result.body || {};
        if (result.ok) {
          say((body.message || '') + (body.dev_note ? ' ' + body.dev_note : ''), 'success');
          countDown(parseInt(button.getAttribute('data-resend-seconds'), 10) || 0);
        } else {
          var error = body.error || {};
          var fields = error.fields || {};
          say(Object.keys(fields).map(function (k) { return fields[k]; }).join('；') || error.message ||
              button.getAttribute('data-failed'), 'danger');
          button.disabled = false;
        }
      }).catch(function () {
        say(button.getAttribute('data-failed'), 'danger');
        button.disabled = false;
      });
    });
  });
})();
