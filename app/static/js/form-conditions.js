// Fields a form shows only for some values of another field (ui:show-when in the UI schema, e.g. the
// conference's name when 学习形式 is 学术会议): hidden and disabled otherwise, so that a hidden field
// is neither in the way nor submitted. Without script every field shows and the server decides.
(function () {
  function valueOf(form, name) {
    var el = form.querySelector('[name="' + name + '"]:checked')
      || form.querySelector('select[name="' + name + '"], input[name="' + name + '"]:not([type=radio])');
    return el ? el.value : '';
  }

  function apply(form) {
    form.querySelectorAll('[data-show-when]').forEach(function (box) {
      var rule = JSON.parse(box.dataset.showWhen);
      var show = Object.keys(rule).every(function (name) { return rule[name].indexOf(valueOf(form, name)) >= 0; });
      box.hidden = !show;
      box.querySelectorAll('input, select, textarea').forEach(function (input) { input.disabled = !show; });
    });
  }

  document.querySelectorAll('form').forEach(function (form) {
    if (!form.querySelector('[data-show-when]')) return;
    apply(form);
    form.addEventListener('change', function () { apply(form); });
  });
})();
