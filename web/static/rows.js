// Rows of array-of-object fields: "＋ 增加一行" clones the row template with a
// new index; "删除此行" takes a row out (the server reads whatever indices are
// posted, in order, so gaps are fine). Clearing every field of a row does the
// same without JavaScript.
document.querySelectorAll('fieldset.rows').forEach(function (set) {
  var next = set.querySelector('.row-list').children.length;
  set.querySelector('.add-row').addEventListener('click', function () {
    var row = document.createElement('div');
    row.className = 'row';
    row.innerHTML = set.querySelector('template').innerHTML
      .split('__index__').join(String(next++));
    set.querySelector('.row-list').appendChild(row);
  });
  set.querySelector('.row-list').addEventListener('click', function (event) {
    if (event.target.classList.contains('remove-row')) {
      event.target.closest('.row').remove();
    }
  });
});
