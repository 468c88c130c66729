// The case's BPMN diagram, open steps and done steps marked (bpmn-js viewer).
(function () {
  var box = document.getElementById('diagram');
  if (!window.BpmnJS) { box.textContent = '流程图组件未加载。'; return; }
  var viewer = new BpmnJS({ container: box });
  fetch(box.dataset.src).then(function (r) { return r.text(); }).then(function (xml) {
    return viewer.importXML(xml);
  }).then(function () {
    var canvas = viewer.get('canvas');
    canvas.zoom('fit-viewport', 'auto');
    canvas.zoom(canvas.zoom() * 0.9);  // a margin, so the bpmn.io mark covers nothing
    var registry = viewer.get('elementRegistry');
    JSON.parse(box.dataset.done).forEach(function (id) {
      if (registry.get(id)) canvas.addMarker(id, 'highlight-done');
    });
    JSON.parse(box.dataset.open).forEach(function (id) {
      if (registry.get(id)) canvas.addMarker(id, 'highlight-open');
    });
    box.dataset.rendered = 'yes';
  }).catch(function (err) { box.textContent = '流程图加载失败：' + err; });
})();
