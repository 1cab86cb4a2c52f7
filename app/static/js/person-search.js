// Type-ahead of a person field (ui:widget "person-search"): as one types a name or the start of an ID number,
// the staff the signed-in unit may declare for are offered in the field's list; choosing one fills in the
// whole ID number. Without script the field is a plain text field.
(function () {
  document.querySelectorAll('input[data-person-search]').forEach(function (input) {
    var list = document.getElementById(input.getAttribute('list'));
    var timer = null;
    var asked = '';
    input.addEventListener('input', function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (!q || /^\d{18}$|^\d{17}[Xx]$/.test(q) || q === asked) return;
      timer = setTimeout(function () {
        asked = q;
        fetch(input.dataset.personSearch + '?q=' + encodeURIComponent(q), {credentials: 'same-origin'})
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (people) {
            list.replaceChildren.apply(list, people.map(function (p) {
              var option = document.createElement('option');
              option.value = p.id_number;
              option.label = p.name + (p.unit ? ' · ' + p.unit : '');
              return option;
            }));
          });
      }, 200);
    });
  });
})();
