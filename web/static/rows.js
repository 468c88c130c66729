// "＋ 增加一行" on array-of-object fields: clone the row template with a new index.
document.querySelectorAll('fieldset.rows').forEach(function (set) {
  var next = set.querySelector('.row-list').children.length;
  set.querySelector('.add-row').addEventListener('click', function () {
    var row = document.createElement('div');
    row.className = 'row';
    row.innerHTML = set.querySelector('template').innerHTML
      .split('__index__').join(String(next++));
    set.querySelector('.row-list').appendChild(row);
  });
});
