// Annotation editor: outline one leased object at a time with rectangles, ellipses and polygons.
// Shapes live in normalised [0,1] image coordinates. The SVG's viewBox is in image pixels, and
// zooming or panning only moves the viewBox, so shapes never need rescaling.
(function () {
  "use strict";
  const root = document.getElementById("annotate");
  if (!root || !window.fetch) return;

  const SVG_NS = "http://www.w3.org/2000/svg";
  const MIN_SHAPE_PX = 4; // smaller drags are slips of the pointer, not objects
  const SAME_POINT_PX = 6; // a second click this near the last point is a double-click
  const MAX_SHAPES = 100;
  const MAX_POINTS = 500;
  const MAX_ZOOM = 12;
  const ZOOM_STEP = 1.5;
  const HISTORY_LIMIT = 200;
  const coarsePointer = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
  const HANDLE_PX = coarsePointer ? 11 : 6;
  const HANDLE_HIT_PX = coarsePointer ? 22 : 10; // fingers need a bigger target than they see
  const TOOL_KEYS = { v: "select", r: "rect", e: "ellipse", p: "polygon" };
  const SHAPE_NAMES = { rect: "Rectangle", ellipse: "Ellipse", polygon: "Polygon" };
  const LEASE_LOST = ["no_lease", "lease_expired", "lease_not_yours"];
  const RELEASED = {
    passed: "Passed.",
    nothing_here: "Noted: nothing to outline there.",
    not_annotatable: "Noted as not annotatable.",
  };

  const byId = function (id) { return document.getElementById(id); };
  const el = {
    form: byId("annotate-form"),
    loading: byId("annotate-loading"),
    editor: byId("annotate-editor"),
    question: byId("annotate-question"),
    labelName: byId("annotate-label-name"),
    description: byId("annotate-description"),
    toolbar: byId("annotate-toolbar"),
    svg: byId("annotate-svg"),
    image: byId("annotate-image"),
    shapesLayer: byId("annotate-shapes"),
    draftLayer: byId("annotate-draft"),
    handlesLayer: byId("annotate-handles"),
    zoom: byId("annotate-zoom"),
    list: byId("annotate-shape-list"),
    count: byId("annotate-shape-count"),
    listEmpty: byId("annotate-shape-empty"),
    othersBlock: byId("annotate-others-block"),
    others: byId("annotate-other-labels"),
    actions: byId("annotate-actions"),
    status: byId("annotate-status"),
    retry: byId("annotate-retry"),
    back: byId("annotate-back"),
    addForm: byId("annotate-add-label"),
    addInput: byId("annotate-add-label-input"),
    addOptions: byId("annotate-add-label-options"),
    empty: byId("annotate-empty"),
    help: byId("annotate-help"),
    helpClose: byId("annotate-help-close"),
  };
  const csrfToken = el.form.querySelector('input[name="csrfmiddlewaretoken"]').value;
  const config = {
    nextUrl: root.dataset.nextUrl,
    submitUrl: root.dataset.submitUrl,
    leasesUrl: root.dataset.leasesUrl,
    label: root.dataset.label,
    chosenImage: root.dataset.chosenImage,
    chosenLabel: root.dataset.chosenLabel,
    renewMs: Number(root.dataset.renewSeconds || 60) * 1000,
    annotationId: root.dataset.annotationId,
    annotationsUrl: root.dataset.annotationsUrl,
    labelSearchUrl: root.dataset.labelSearchUrl,
    imagesUrl: root.dataset.imagesUrl,
  };

  const state = {
    task: null,
    rework: null, // {id, revision} when reworking an existing annotation (no lease)
    leaseId: null,
    expired: false,
    busy: false,
    width: 1, // image size in pixels: the viewBox units
    height: 1,
    shapes: [],
    history: [[]],
    historyIndex: 0,
    selectedId: null,
    nextId: 1,
    tool: "rect",
    polygon: null, // {points, hover} while a polygon is being drawn
    gesture: null, // the drag in progress
    pointers: new Map(),
    view: { zoom: 1, x: 0, y: 0 },
    spaceHeld: false,
    renewTimer: null,
    retryAction: null,
    focusBeforeHelp: null,
  };

  // --- Small helpers -----------------------------------------------------------------------

  function clamp(value, low, high) {
    return Math.min(high, Math.max(low, value));
  }

  function clone(value) {
    return JSON.parse(JSON.stringify(value));
  }

  function svgElement(name, attributes) {
    const node = document.createElementNS(SVG_NS, name);
    Object.keys(attributes).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    return node;
  }

  function htmlElement(name, attributes, text) {
    const node = document.createElement(name);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function say(text, kind) {
    el.status.textContent = text;
    el.status.className = "feedback" + (kind ? " feedback-" + kind : "");
  }

  function offer(text, action) {
    state.retryAction = action;
    el.retry.textContent = text;
    el.retry.hidden = !action;
  }

  // --- Geometry (normalised coordinates) ---------------------------------------------------

  function boxFrom(a, b) {
    const x = clamp(Math.min(a.x, b.x), 0, 1);
    const y = clamp(Math.min(a.y, b.y), 0, 1);
    return {
      x: x,
      y: y,
      width: clamp(Math.max(a.x, b.x), 0, 1) - x,
      height: clamp(Math.max(a.y, b.y), 0, 1) - y,
    };
  }

  function shapeFromBox(type, box) {
    if (type === "rect") return { type: "rect", x: box.x, y: box.y, width: box.width, height: box.height };
    return {
      type: "ellipse",
      cx: box.x + box.width / 2,
      cy: box.y + box.height / 2,
      rx: box.width / 2,
      ry: box.height / 2,
    };
  }

  function bounds(shape) {
    if (shape.type === "rect") {
      return { minX: shape.x, minY: shape.y, maxX: shape.x + shape.width, maxY: shape.y + shape.height };
    }
    if (shape.type === "ellipse") {
      return { minX: shape.cx - shape.rx, minY: shape.cy - shape.ry, maxX: shape.cx + shape.rx, maxY: shape.cy + shape.ry };
    }
    const xs = shape.points.map(function (p) { return p[0]; });
    const ys = shape.points.map(function (p) { return p[1]; });
    return { minX: Math.min.apply(null, xs), minY: Math.min.apply(null, ys), maxX: Math.max.apply(null, xs), maxY: Math.max.apply(null, ys) };
  }

  function translated(shape, dx, dy) {
    const box = bounds(shape);
    // Keep the whole shape on the image instead of letting part of it slide off.
    dx = clamp(dx, -box.minX, 1 - box.maxX);
    dy = clamp(dy, -box.minY, 1 - box.maxY);
    const moved = clone(shape);
    if (shape.type === "rect") {
      moved.x += dx;
      moved.y += dy;
    } else if (shape.type === "ellipse") {
      moved.cx += dx;
      moved.cy += dy;
    } else {
      moved.points = shape.points.map(function (p) { return [p[0] + dx, p[1] + dy]; });
    }
    return moved;
  }

  function handlePoints(shape) {
    if (shape.type === "rect") {
      const right = shape.x + shape.width;
      const bottom = shape.y + shape.height;
      return [[shape.x, shape.y], [right, shape.y], [right, bottom], [shape.x, bottom]];
    }
    if (shape.type === "ellipse") {
      return [[shape.cx + shape.rx, shape.cy], [shape.cx, shape.cy + shape.ry], [shape.cx - shape.rx, shape.cy], [shape.cx, shape.cy - shape.ry]];
    }
    return shape.points;
  }

  function withHandleMoved(shape, index, point) {
    const edited = clone(shape);
    if (shape.type === "rect") {
      const opposite = handlePoints(shape)[(index + 2) % 4];
      return Object.assign(edited, boxFrom({ x: opposite[0], y: opposite[1] }, point));
    }
    if (shape.type === "ellipse") {
      // The centre stays put and the ellipse stays inside the image.
      if (index % 2 === 0) edited.rx = Math.min(Math.abs(point.x - shape.cx), shape.cx, 1 - shape.cx);
      else edited.ry = Math.min(Math.abs(point.y - shape.cy), shape.cy, 1 - shape.cy);
      return edited;
    }
    edited.points[index] = [clamp(point.x, 0, 1), clamp(point.y, 0, 1)];
    return edited;
  }

  function polygonArea(points) {
    let sum = 0;
    points.forEach(function (p, i) {
      const q = points[(i + 1) % points.length];
      sum += p[0] * q[1] - q[0] * p[1];
    });
    return Math.abs(sum) / 2;
  }

  // On-screen size, so "too small" means the same to the eye at every zoom level.
  function isTooSmall(shape) {
    const perUnit = screenScale();
    const w = perUnit * state.width;
    const h = perUnit * state.height;
    if (shape.type === "polygon") {
      return polygonArea(shape.points) * w * h < MIN_SHAPE_PX * MIN_SHAPE_PX;
    }
    const box = bounds(shape);
    return (box.maxX - box.minX) * w < MIN_SHAPE_PX || (box.maxY - box.minY) * h < MIN_SHAPE_PX;
  }

  function rounded(value) {
    return Math.round(value * 1e6) / 1e6;
  }

  function payloadOf(shape) {
    let out;
    if (shape.type === "rect") {
      const x = rounded(shape.x);
      const y = rounded(shape.y);
      out = { type: "rect", x: x, y: y, width: Math.min(rounded(shape.width), 1 - x), height: Math.min(rounded(shape.height), 1 - y) };
    } else if (shape.type === "ellipse") {
      out = { type: "ellipse", cx: rounded(shape.cx), cy: rounded(shape.cy), rx: rounded(shape.rx), ry: rounded(shape.ry) };
    } else {
      out = { type: "polygon", points: shape.points.map(function (p) { return [rounded(p[0]), rounded(p[1])]; }) };
    }
    if (shape.refinements && Object.keys(shape.refinements).length) out.refinements = clone(shape.refinements);
    return out;
  }

  // --- View: zoom and pan --------------------------------------------------------------------

  // How the viewBox maps to the screen (preserveAspectRatio="xMidYMid meet").
  function layout() {
    const rect = el.svg.getBoundingClientRect();
    const base = Math.min(rect.width / state.width, rect.height / state.height) || 1;
    return {
      rect: rect,
      base: base,
      offsetX: (rect.width - state.width * base) / 2,
      offsetY: (rect.height - state.height * base) / 2,
    };
  }

  function screenScale() {
    return layout().base * state.view.zoom;
  }

  function imagePixelAt(clientX, clientY) {
    const l = layout();
    const k = l.base * state.view.zoom;
    return {
      x: state.view.x + (clientX - l.rect.left - l.offsetX) / k,
      y: state.view.y + (clientY - l.rect.top - l.offsetY) / k,
    };
  }

  function pointAt(clientX, clientY) {
    const pixel = imagePixelAt(clientX, clientY);
    return { x: pixel.x / state.width, y: pixel.y / state.height };
  }

  function clampedPointAt(clientX, clientY) {
    const p = pointAt(clientX, clientY);
    return { x: clamp(p.x, 0, 1), y: clamp(p.y, 0, 1) };
  }

  function setView(zoom, x, y) {
    const z = clamp(zoom, 1, MAX_ZOOM);
    state.view = {
      zoom: z,
      x: clamp(x, 0, state.width - state.width / z),
      y: clamp(y, 0, state.height - state.height / z),
    };
    const v = state.view;
    el.svg.setAttribute("viewBox", [v.x, v.y, state.width / z, state.height / z].join(" "));
    el.zoom.hidden = z <= 1.001;
    el.zoom.textContent = Math.round(z * 100) + " %";
    renderCanvas();
  }

  // Zoom so that the image pixel under the client point stays under it.
  function zoomAround(clientX, clientY, pixel, zoom) {
    const l = layout();
    const z = clamp(zoom, 1, MAX_ZOOM);
    const k = l.base * z;
    setView(z, pixel.x - (clientX - l.rect.left - l.offsetX) / k, pixel.y - (clientY - l.rect.top - l.offsetY) / k);
  }

  function zoomBy(factor) {
    const rect = el.svg.getBoundingClientRect();
    const cx = rect.left + rect.width / 2;
    const cy = rect.top + rect.height / 2;
    zoomAround(cx, cy, imagePixelAt(cx, cy), state.view.zoom * factor);
  }

  function resetView() {
    setView(1, 0, 0);
  }

  // --- Shapes, selection and history ---------------------------------------------------------

  function selectedShape() {
    return state.shapes.find(function (s) { return s.id === state.selectedId; }) || null;
  }

  function select(id) {
    state.selectedId = id;
    renderAll();
  }

  function commit(shapes) {
    state.history = state.history.slice(0, state.historyIndex + 1);
    state.history.push(clone(shapes));
    if (state.history.length > HISTORY_LIMIT) state.history.shift();
    state.historyIndex = state.history.length - 1;
    state.shapes = clone(shapes);
    if (!selectedShape()) state.selectedId = null;
    renderAll();
  }

  function restoreHistory(index) {
    state.historyIndex = index;
    state.shapes = clone(state.history[index]);
    if (!selectedShape()) state.selectedId = null;
    renderAll();
  }

  function undo() {
    if (state.polygon) return removeLastPoint();
    if (state.gesture) return;
    if (state.historyIndex > 0) restoreHistory(state.historyIndex - 1);
  }

  function redo() {
    if (state.polygon || state.gesture) return;
    if (state.historyIndex < state.history.length - 1) restoreHistory(state.historyIndex + 1);
  }

  function addShape(shape) {
    if (state.shapes.length >= MAX_SHAPES) {
      say("At most " + MAX_SHAPES + " shapes per task; use “Not annotatable” when there are too many.", "error");
      return;
    }
    shape.id = state.nextId++;
    shape.refinements = {};
    state.selectedId = shape.id;
    commit(state.shapes.concat([shape]));
  }

  function replaceShape(id, shape) {
    commit(state.shapes.map(function (s) { return s.id === id ? shape : s; }));
  }

  function deleteShape(id) {
    if (id === null) return;
    if (state.selectedId === id) state.selectedId = null;
    commit(state.shapes.filter(function (s) { return s.id !== id; }));
  }

  function setRefinement(id, name, value) {
    const shape = clone(state.shapes.find(function (s) { return s.id === id; }));
    if (value) shape.refinements[name] = value;
    else delete shape.refinements[name];
    replaceShape(id, shape);
  }

  // --- Polygon drawing -----------------------------------------------------------------------

  function screenDistance(a, b) {
    const k = screenScale();
    return Math.hypot((a[0] - b[0]) * state.width * k, (a[1] - b[1]) * state.height * k);
  }

  function addPolygonPoint(point) {
    const p = [point.x, point.y];
    if (!state.polygon) {
      state.polygon = { points: [p], hover: null };
      return renderDraft();
    }
    const points = state.polygon.points;
    const closeRadius = Math.max(HANDLE_HIT_PX, 10);
    if (points.length >= 3 && screenDistance(p, points[0]) <= closeRadius) return closePolygon();
    if (screenDistance(p, points[points.length - 1]) <= SAME_POINT_PX) {
      // The second click of a double-click lands on the point the first one added.
      if (points.length >= 3) closePolygon();
      return;
    }
    if (points.length >= MAX_POINTS) {
      say("A polygon has at most " + MAX_POINTS + " points; close this one first.", "error");
      return;
    }
    points.push(p);
    renderDraft();
  }

  function closePolygon() {
    const draft = state.polygon;
    state.polygon = null;
    if (!draft) return;
    if (draft.points.length < 3) {
      say("A polygon needs at least 3 points.", "error");
      return renderDraft();
    }
    const shape = { type: "polygon", points: draft.points };
    if (isTooSmall(shape)) {
      say("That polygon is too small to keep; draw it bigger or zoom in.", "error");
      return renderDraft();
    }
    addShape(shape);
  }

  function cancelPolygon() {
    state.polygon = null;
    renderDraft();
  }

  function removeLastPoint() {
    if (!state.polygon) return;
    state.polygon.points.pop();
    if (!state.polygon.points.length) state.polygon = null;
    renderDraft();
  }

  // --- Rendering -----------------------------------------------------------------------------

  function px(x) { return x * state.width; }
  function py(y) { return y * state.height; }

  function pointsAttribute(points) {
    return points.map(function (p) { return px(p[0]) + "," + py(p[1]); }).join(" ");
  }

  function shapeNode(shape, extraClass) {
    const common = { class: "shape " + extraClass, "data-type": shape.type };
    if (shape.type === "rect") {
      return svgElement("rect", Object.assign(common, { x: px(shape.x), y: py(shape.y), width: px(shape.width), height: py(shape.height) }));
    }
    if (shape.type === "ellipse") {
      return svgElement("ellipse", Object.assign(common, { cx: px(shape.cx), cy: py(shape.cy), rx: px(shape.rx), ry: py(shape.ry) }));
    }
    return svgElement("polygon", Object.assign(common, { points: pointsAttribute(shape.points) }));
  }

  function handleNodes(shape, k) {
    return handlePoints(shape).map(function (p, index) {
      const group = svgElement("g", { class: "handle", "data-handle": index });
      group.appendChild(svgElement("circle", { class: "handle-hit", cx: px(p[0]), cy: py(p[1]), r: HANDLE_HIT_PX / k }));
      group.appendChild(svgElement("circle", { class: "handle-dot", cx: px(p[0]), cy: py(p[1]), r: HANDLE_PX / k }));
      return group;
    });
  }

  function draftNodes(k) {
    const g = state.gesture;
    if (g && g.kind === "draw" && g.current) {
      return [shapeNode(shapeFromBox(g.tool, boxFrom(g.start, g.current)), "draft")];
    }
    if (!state.polygon) return [];
    const points = state.polygon.points;
    const line = state.polygon.hover ? points.concat([state.polygon.hover]) : points;
    const nodes = [svgElement("polyline", { class: "shape draft", points: pointsAttribute(line) })];
    points.forEach(function (p, index) {
      nodes.push(svgElement("circle", {
        class: "draft-point" + (index === 0 ? " first" : ""),
        cx: px(p[0]),
        cy: py(p[1]),
        r: (index === 0 && points.length >= 3 ? HANDLE_PX * 1.6 : HANDLE_PX * 0.8) / k,
      }));
    });
    return nodes;
  }

  function renderCanvas() {
    const k = screenScale();
    el.shapesLayer.replaceChildren.apply(el.shapesLayer, state.shapes.map(function (shape) {
      const node = shapeNode(shape, shape.id === state.selectedId ? "selected" : "");
      node.setAttribute("data-shape-id", shape.id);
      return node;
    }));
    el.draftLayer.replaceChildren.apply(el.draftLayer, draftNodes(k));
    const selected = state.tool === "select" ? selectedShape() : null;
    el.handlesLayer.replaceChildren.apply(el.handlesLayer, selected ? handleNodes(selected, k) : []);
  }

  function refinementSummary(shape) {
    return Object.keys(shape.refinements || {}).map(function (name) {
      return name + ": " + shape.refinements[name];
    }).join(", ");
  }

  function refinementControls(shape) {
    const box = htmlElement("div", { class: "refinements" });
    state.task.refinements.forEach(function (refinement) {
      const id = "refinement-" + shape.id + "-" + refinement.name;
      const row = htmlElement("div", { class: "refinement" });
      row.appendChild(htmlElement("label", { for: id }, refinement.name));
      const choice = htmlElement("select", { id: id, "data-refinement": refinement.name, "data-shape-id": shape.id });
      choice.appendChild(htmlElement("option", { value: "" }, "—"));
      refinement.values.forEach(function (value) {
        const option = htmlElement("option", { value: value }, value);
        if ((shape.refinements || {})[refinement.name] === value) option.selected = true;
        choice.appendChild(option);
      });
      row.appendChild(choice);
      box.appendChild(row);
    });
    return box;
  }

  function shapeItem(shape, index) {
    const selected = shape.id === state.selectedId;
    const name = SHAPE_NAMES[shape.type] + " " + (index + 1);
    const item = htmlElement("li", { class: "shape-item" + (selected ? " selected" : ""), "data-shape-id": shape.id, "data-type": shape.type });
    const head = htmlElement("div", { class: "shape-item-head" });
    const pick = htmlElement("button", { type: "button", class: "shape-pick", "data-shape-id": shape.id, "aria-pressed": String(selected) }, name);
    const summary = refinementSummary(shape);
    if (summary && !selected) pick.appendChild(htmlElement("span", { class: "shape-refinements" }, summary));
    head.appendChild(pick);
    head.appendChild(htmlElement("button", { type: "button", class: "shape-delete", "data-shape-id": shape.id, "aria-label": "Delete " + name.toLowerCase(), title: "Delete" }, "✕"));
    item.appendChild(head);
    if (selected && state.task.refinements.length) item.appendChild(refinementControls(shape));
    return item;
  }

  function renderPanel() {
    el.list.replaceChildren.apply(el.list, state.shapes.map(shapeItem));
    el.count.textContent = state.shapes.length;
    el.listEmpty.hidden = state.shapes.length > 0;
  }

  function renderToolbar() {
    el.toolbar.querySelectorAll("[data-tool]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.tool === state.tool));
    });
    el.toolbar.querySelector('[data-action="undo"]').disabled = state.historyIndex === 0 && !state.polygon;
    el.toolbar.querySelector('[data-action="redo"]').disabled = state.historyIndex >= state.history.length - 1;
    el.toolbar.querySelector('[data-action="delete"]').disabled = state.selectedId === null;
    el.svg.setAttribute("class", "annotate-svg tool-" + state.tool + (state.spaceHeld ? " panning" : ""));
  }

  function renderDraft() {
    renderCanvas();
    renderToolbar();
  }

  function renderAll() {
    renderCanvas();
    renderPanel();
    renderToolbar();
  }

  function setTool(tool) {
    if (state.polygon && tool !== "polygon") closePolygon();
    state.tool = tool;
    renderAll();
  }

  // --- Pointer input ---------------------------------------------------------------------------

  function capture(event) {
    try {
      el.svg.setPointerCapture(event.pointerId);
    } catch (error) {
      // Synthetic events have no live pointer to capture; drawing still works without it.
    }
  }

  function abandonGesture() {
    const g = state.gesture;
    state.gesture = null;
    if (g && (g.kind === "move" || g.kind === "handle")) state.shapes = clone(state.history[state.historyIndex]);
    renderCanvas();
  }

  function startPinch() {
    abandonGesture();
    const [a, b] = Array.from(state.pointers.values());
    const mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
    state.gesture = {
      kind: "pinch",
      distance: Math.hypot(a.x - b.x, a.y - b.y) || 1,
      zoom: state.view.zoom,
      pixel: imagePixelAt(mid.x, mid.y),
    };
  }

  function updatePinch() {
    const [a, b] = Array.from(state.pointers.values());
    const g = state.gesture;
    const distance = Math.hypot(a.x - b.x, a.y - b.y) || 1;
    zoomAround((a.x + b.x) / 2, (a.y + b.y) / 2, g.pixel, g.zoom * distance / g.distance);
  }

  function startSelectGesture(event) {
    const handle = event.target.closest("[data-handle]");
    const selected = selectedShape();
    if (handle && selected) {
      state.gesture = { kind: "handle", pointerId: event.pointerId, id: selected.id, index: Number(handle.dataset.handle), original: clone(selected) };
      return;
    }
    const hit = event.target.closest("[data-shape-id]");
    if (hit) {
      const id = Number(hit.dataset.shapeId);
      if (id !== state.selectedId) select(id);
      state.gesture = { kind: "move", pointerId: event.pointerId, id: id, start: pointAt(event.clientX, event.clientY), original: clone(selectedShape()) };
      return;
    }
    if (state.selectedId !== null) select(null);
    startPan(event);
  }

  function startPan(event) {
    state.gesture = { kind: "pan", pointerId: event.pointerId, client: { x: event.clientX, y: event.clientY }, view: Object.assign({}, state.view) };
  }

  function onPointerDown(event) {
    if (!state.task || state.busy) return;
    if (event.pointerType === "mouse" && event.button !== 0 && event.button !== 1) return;
    event.preventDefault();
    el.svg.focus({ preventScroll: true });
    state.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    capture(event);
    if (state.pointers.size === 2) return startPinch();
    if (state.pointers.size > 2) return;
    if (event.button === 1 || state.spaceHeld) return startPan(event);
    if (state.tool === "select") return startSelectGesture(event);
    if (state.tool === "polygon") {
      state.gesture = { kind: "point", pointerId: event.pointerId };
      return;
    }
    const start = clampedPointAt(event.clientX, event.clientY);
    state.gesture = { kind: "draw", pointerId: event.pointerId, tool: state.tool, start: start, current: null };
  }

  function onPointerMove(event) {
    if (state.pointers.has(event.pointerId)) state.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    const g = state.gesture;
    if (!g) {
      if (state.polygon && event.pointerType !== "touch") {
        const p = clampedPointAt(event.clientX, event.clientY);
        state.polygon.hover = [p.x, p.y];
        renderCanvas();
      }
      return;
    }
    if (g.kind === "pinch") return state.pointers.size === 2 ? updatePinch() : undefined;
    if (event.pointerId !== g.pointerId) return;
    if (g.kind === "pan") {
      const k = screenScale();
      setView(state.view.zoom, g.view.x - (event.clientX - g.client.x) / k, g.view.y - (event.clientY - g.client.y) / k);
    } else if (g.kind === "draw") {
      g.current = clampedPointAt(event.clientX, event.clientY);
      renderCanvas();
    } else if (g.kind === "move") {
      const p = pointAt(event.clientX, event.clientY);
      showEdited(g.id, translated(g.original, p.x - g.start.x, p.y - g.start.y));
    } else if (g.kind === "handle") {
      showEdited(g.id, withHandleMoved(g.original, g.index, pointAt(event.clientX, event.clientY)));
    }
  }

  // A drag in progress changes only the working copy; the history gets it on release.
  function showEdited(id, shape) {
    state.shapes = state.shapes.map(function (s) { return s.id === id ? shape : s; });
    renderCanvas();
  }

  function finishDraw(g, event) {
    g.current = clampedPointAt(event.clientX, event.clientY);
    const shape = shapeFromBox(g.tool, boxFrom(g.start, g.current));
    renderCanvas();
    if (isTooSmall(shape)) {
      if (state.selectedId !== null) select(null);
      return;
    }
    addShape(shape);
  }

  function finishEdit(g) {
    const edited = state.shapes.find(function (s) { return s.id === g.id; });
    if (!edited || JSON.stringify(edited) === JSON.stringify(g.original)) return renderCanvas();
    if (isTooSmall(edited)) {
      state.shapes = clone(state.history[state.historyIndex]);
      say("That would make the shape too small, so the change was undone.", "error");
      return renderAll();
    }
    replaceShape(g.id, edited);
  }

  function onPointerUp(event) {
    state.pointers.delete(event.pointerId);
    const g = state.gesture;
    if (!g) return;
    if (g.kind === "pinch") {
      // The finger still down starts nothing new: lifting it ends the gesture cleanly.
      if (state.pointers.size < 2) state.gesture = { kind: "ended" };
      if (state.pointers.size === 0) state.gesture = null;
      return;
    }
    if (g.kind === "ended") {
      if (state.pointers.size === 0) state.gesture = null;
      return;
    }
    if (event.pointerId !== g.pointerId) return;
    state.gesture = null;
    if (g.kind === "draw") finishDraw(g, event);
    else if (g.kind === "point") addPolygonPoint(clampedPointAt(event.clientX, event.clientY));
    else if (g.kind === "move" || g.kind === "handle") finishEdit(g);
    renderToolbar();
  }

  function onPointerCancel(event) {
    state.pointers.delete(event.pointerId);
    if (state.gesture) abandonGesture();
  }

  function onWheel(event) {
    if (!state.task) return;
    event.preventDefault();
    const perLine = event.deltaMode === 1 ? 0.05 : 0.0015;
    zoomAround(event.clientX, event.clientY, imagePixelAt(event.clientX, event.clientY), state.view.zoom * Math.exp(-event.deltaY * perLine));
  }

  // --- Server -------------------------------------------------------------------------------

  async function send(url, body, method) {
    const response = await fetch(url, {
      method: method || "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken },
      body: body === null ? undefined : JSON.stringify(body),
    });
    const data = response.status === 204 ? {} : await response.json().catch(function () { return {}; });
    return { status: response.status, ok: response.ok, data: data };
  }

  function leaseUrl(action) {
    return config.leasesUrl + state.leaseId + "/" + action + "/";
  }

  function errorText(result) {
    return result.data.detail || "Something went wrong (HTTP " + result.status + "). Please try again.";
  }

  function connectionFailed(retry) {
    say("The connection failed; check your network and try again.", "error");
    offer("Try again", retry);
  }

  async function loadNext() {
    offer("", null);
    const url = config.nextUrl + (config.label ? "?label=" + encodeURIComponent(config.label) : "");
    try {
      const result = await send(url, null);
      if (result.status === 204) return showEmpty();
      if (!result.ok) {
        say(errorText(result), "error");
        return offer("Try again", loadNext);
      }
      showTask(result.data);
    } catch (error) {
      connectionFailed(loadNext);
    } finally {
      el.loading.hidden = true;
    }
  }

  async function loadChosen() {
    try {
      const result = await send(config.leasesUrl, { image: config.chosenImage, label: config.chosenLabel });
      if (!result.ok) {
        say(errorText(result), "error");
        return offer("Take a new task", loadNext);
      }
      showTask(result.data);
    } catch (error) {
      connectionFailed(loadChosen);
    } finally {
      el.loading.hidden = true;
    }
  }

  function showEmpty() {
    stopRenewal();
    state.task = null;
    state.leaseId = null;
    el.editor.hidden = true;
    el.empty.hidden = false;
    delete root.dataset.imageLabel;
  }

  function otherLabelChip(name, outlinable) {
    const chip = htmlElement("li", { class: "chip chip-existing", "data-label": name });
    if (!outlinable) {
      chip.textContent = name;
      return chip;
    }
    chip.classList.add("chip-action");
    const button = htmlElement("button", { type: "button", class: "chip-outline", "data-outline": name }, "Outline " + name + " next");
    chip.append(button);
    return chip;
  }

  function showOtherLabels(names) {
    el.others.replaceChildren.apply(el.others, names.map(function (name) { return otherLabelChip(name, false); }));
    el.othersBlock.hidden = false;
    markOutlinable(state.task.image.id);
  }

  // The task payload names the other labels without their state; confirmed ones may be waiting
  // for an outline, so they become "Outline … next" chips (the lease says if they really are).
  async function markOutlinable(imageId) {
    let result;
    try {
      result = await send(config.imagesUrl + imageId + "/labels/", null, "GET");
    } catch (error) {
      return;
    }
    if (!result.ok || !state.task || state.task.image.id !== imageId) return;
    const current = state.task.label.name;
    result.data.forEach(function (imageLabel) {
      if (imageLabel.state !== "confirmed" || imageLabel.label === current) return;
      const old = Array.from(el.others.children).find(function (chip) { return chip.dataset.label === imageLabel.label; });
      const chip = otherLabelChip(imageLabel.label, !state.rework);
      if (old) old.replaceWith(chip);
      else el.others.append(chip);
    });
  }

  // Everything both modes share: the image, a clean slate of shapes, the view.
  function showDrawing(task, shapes) {
    state.task = task;
    state.expired = false;
    state.width = task.image.width;
    state.height = task.image.height;
    state.shapes = shapes.map(function (shape) {
      const copy = clone(shape);
      copy.id = state.nextId++;
      copy.refinements = copy.refinements || {};
      return copy;
    });
    state.history = [clone(state.shapes)];
    state.historyIndex = 0;
    state.selectedId = null;
    state.polygon = null;
    state.gesture = null;
    state.pointers.clear();
    say("");
    el.labelName.textContent = task.label.name;
    el.description.textContent = task.label.description || "";
    el.image.setAttribute("width", state.width);
    el.image.setAttribute("height", state.height);
    el.image.setAttribute("href", task.image.file_url);
    el.svg.style.aspectRatio = state.width + " / " + state.height;
    el.svg.setAttribute("aria-label", "Image to outline every " + task.label.name + " in");
    showOtherLabels(task.other_labels || []);
    el.empty.hidden = true;
    el.editor.hidden = false;
    offer("", null);
    resetView();
    renderAll();
  }

  function showTask(task) {
    state.leaseId = task.lease.id;
    root.dataset.imageLabel = task.image_label;
    el.question.replaceChildren("Outline every ", el.labelName);
    showDrawing(task, []);
    startRenewal();
  }

  // --- Rework: improve an existing annotation as a new revision --------------------------------

  async function loadAnnotation() {
    offer("", null);
    try {
      const result = await send(config.annotationsUrl + config.annotationId + "/", null, "GET");
      if (!result.ok) {
        say(result.status === 404 ? "There is no such annotation, or its image is not public." : errorText(result), "error");
        return offer("Try again", loadAnnotation);
      }
      const image = await send(config.imagesUrl + result.data.image + "/", null, "GET");
      if (!image.ok) {
        say(errorText(image), "error");
        return offer("Try again", loadAnnotation);
      }
      showRework(result.data, image.data);
    } catch (error) {
      connectionFailed(loadAnnotation);
    } finally {
      el.loading.hidden = true;
    }
  }

  function showRework(annotation, image) {
    state.rework = { id: annotation.id, revision: annotation.revision };
    state.leaseId = null;
    root.dataset.annotation = annotation.id;
    root.dataset.revision = annotation.revision;
    // The page shows the large rendition; shapes are normalised, so only the proportions matter.
    const display = Object.assign({}, image, { file_url: "/images/" + image.id + "/file/large" });
    el.actions.querySelectorAll("[data-action]").forEach(function (button) {
      button.hidden = button.dataset.action !== "done";
    });
    // Pass and "nothing here" belong to tasks; their keys do nothing while reworking.
    document.querySelectorAll("[data-task-only]").forEach(function (element) {
      element.hidden = true;
    });
    const refinements = JSON.parse(byId("annotate-refinements").textContent);
    showDrawing({ label: { name: annotation.label, description: "" }, image: display, other_labels: [], refinements: refinements }, annotation.shapes);
    showRevision();
  }

  function showRevision() {
    el.question.replaceChildren("Improve the outline of ", el.labelName, " (revision " + state.rework.revision + ")");
  }

  async function saveRevision() {
    const base = state.rework.revision;
    const result = await send(config.annotationsUrl + state.rework.id + "/", { base_revision: base, shapes: state.shapes.map(payloadOf) }, "PUT");
    if (!result.ok) {
      say(errorText(result), "error");
      // The other save stays; the user's own edits stay on screen until they choose to reload.
      if (result.data.code === "revision_conflict") offer("Reload", loadAnnotation);
      return;
    }
    state.rework.revision = result.data.revision;
    root.dataset.revision = result.data.revision;
    state.history = [clone(state.shapes)];
    state.historyIndex = 0;
    showRevision();
    renderToolbar();
    offer("", null);
    say("Saved as revision " + result.data.revision + ".", "good");
    el.back.hidden = false;
  }

  function startRenewal() {
    stopRenewal();
    state.renewTimer = window.setInterval(renew, config.renewMs);
  }

  function stopRenewal() {
    if (state.renewTimer !== null) window.clearInterval(state.renewTimer);
    state.renewTimer = null;
  }

  async function renew() {
    if (!state.leaseId || state.expired) return;
    try {
      const result = await send(leaseUrl("renew"), null);
      if (!result.ok && (result.status === 404 || result.status === 409)) leaseLost(errorText(result));
    } catch (error) {
      // A missed renewal is retried at the next tick; the lease lasts several minutes.
    }
  }

  function leaseLost(detail) {
    stopRenewal();
    state.expired = true;
    say(detail + " Your drawing on this one cannot be saved.", "error");
    offer("Take a new task", loadNext);
  }

  function setBusy(busy) {
    state.busy = busy;
    el.actions.querySelectorAll("button").forEach(function (button) { button.disabled = busy; });
    el.actions.classList.toggle("sending", busy);
  }

  async function finishTask(kind) {
    if (!state.task || state.busy) return;
    if (state.expired) {
      say("Your lease on this task ended; take a new task.", "error");
      return offer("Take a new task", loadNext);
    }
    if (kind === "done" && state.polygon) closePolygon();
    if (state.rework && kind !== "done") return;
    if (kind === "done" && !state.shapes.length) {
      say(state.rework
        ? "An outline needs at least one shape around a " + state.task.label.name + "."
        : "Draw at least one shape around a " + state.task.label.name + " first — or choose “Nothing to annotate here”.", "error");
      return;
    }
    setBusy(true);
    if (state.rework) {
      try {
        await saveRevision();
      } catch (error) {
        connectionFailed(null);
      } finally {
        setBusy(false);
      }
      return;
    }
    try {
      const result = kind === "done"
        ? await send(config.submitUrl, { lease: state.leaseId, shapes: state.shapes.map(payloadOf) })
        : await send(leaseUrl(kind), null);
      if (!result.ok) {
        if (LEASE_LOST.indexOf(result.data.code) !== -1) return leaseLost(errorText(result));
        return say(errorText(result), "error");
      }
      const message = kind === "done"
        ? "Saved " + result.data.shapes.length + (result.data.shapes.length === 1 ? " shape" : " shapes") + ". Thank you!"
        : RELEASED[kind];
      stopRenewal();
      say("");
      await loadNext();
      if (!el.status.classList.contains("feedback-error")) say(message, "good");
    } catch (error) {
      connectionFailed(null);
    } finally {
      setBusy(false);
    }
  }

  // --- Unified mode: add labels, and take another object of this image next ------------------

  const labelSearch = { timer: null, request: 0, matches: [], active: -1 };

  function closeLabelOptions() {
    labelSearch.request += 1; // a search still in flight must not reopen the list
    window.clearTimeout(labelSearch.timer);
    labelSearch.matches = [];
    labelSearch.active = -1;
    el.addOptions.hidden = true;
    el.addOptions.textContent = "";
    el.addInput.setAttribute("aria-expanded", "false");
    el.addInput.setAttribute("aria-activedescendant", "");
  }

  function renderLabelOptions() {
    el.addOptions.textContent = "";
    labelSearch.matches.forEach(function (match, index) {
      const option = htmlElement("li", {
        role: "option",
        id: "annotate-label-option-" + index,
        class: "autocomplete-option" + (index === labelSearch.active ? " active" : ""),
      });
      option.append(htmlElement("strong", {}, match.name));
      if (match.matched.toLowerCase() !== match.name) option.append(" (" + match.matched + ")");
      option.addEventListener("mousedown", function (event) {
        event.preventDefault();
        addLabel(match.name);
      });
      el.addOptions.append(option);
    });
    el.addOptions.hidden = !labelSearch.matches.length;
    el.addInput.setAttribute("aria-expanded", labelSearch.matches.length ? "true" : "false");
    el.addInput.setAttribute("aria-activedescendant", labelSearch.active >= 0 ? "annotate-label-option-" + labelSearch.active : "");
  }

  async function searchLabels(text) {
    const mine = ++labelSearch.request;
    try {
      const response = await fetch(config.labelSearchUrl + "?q=" + encodeURIComponent(text), { headers: { Accept: "application/json" } });
      if (!response.ok || mine !== labelSearch.request) return;
      const matches = await response.json();
      if (mine !== labelSearch.request) return;
      labelSearch.matches = matches;
      labelSearch.active = matches.length ? 0 : -1;
      renderLabelOptions();
    } catch (error) {
      // Autocomplete is a convenience; typing the whole name still works.
    }
  }

  function onAddLabelInput() {
    window.clearTimeout(labelSearch.timer);
    const text = el.addInput.value.trim();
    if (!text) return closeLabelOptions();
    labelSearch.timer = window.setTimeout(function () { searchLabels(text); }, 120);
  }

  function onAddLabelKey(event) {
    const count = labelSearch.matches.length;
    if (event.key === "ArrowDown" && count) {
      labelSearch.active = (labelSearch.active + 1) % count;
      renderLabelOptions();
      event.preventDefault();
    } else if (event.key === "ArrowUp" && count) {
      labelSearch.active = (labelSearch.active - 1 + count) % count;
      renderLabelOptions();
      event.preventDefault();
    } else if (event.key === "Enter") {
      event.preventDefault();
      const picked = labelSearch.matches[labelSearch.active];
      addLabel(picked ? picked.name : el.addInput.value);
    } else if (event.key === "Escape") {
      closeLabelOptions();
    }
  }

  function resultChip(name, note) {
    const chip = htmlElement("li", { class: "chip chip-added", "data-label": name }, name);
    chip.append(htmlElement("span", { class: "chip-note" }, note));
    const old = Array.from(el.others.children).find(function (c) { return c.dataset.label === name; });
    if (old) old.replaceWith(chip);
    else el.others.append(chip);
  }

  async function addLabel(text) {
    const name = text.trim().replace(/\s+/g, " ");
    closeLabelOptions();
    if (!name || !state.task) return;
    el.addInput.disabled = true;
    try {
      const result = await send(config.imagesUrl + state.task.image.id + "/labels/", { labels: [name] });
      if (!result.ok) return say(errorText(result), "error");
      el.addInput.value = "";
      const data = result.data;
      if (data.added.length) {
        const added = data.added[0].label;
        resultChip(added, "added");
        say("Added ‘" + added + "’ — others will confirm it, then it can be outlined.", "good");
      } else if (data.already_there.length) {
        const there = data.already_there[0];
        if (!Array.from(el.others.children).some(function (c) { return c.dataset.label === there.label; })) {
          resultChip(there.label, "already there");
        }
        say("‘" + there.label + "’ is already on this image.", "good");
      } else if (data.suggested.length) {
        resultChip(name, "suggestion noted");
        say("‘" + name + "’ is not in the catalog yet, so it was noted as a suggestion.", "good");
      }
    } catch (error) {
      say("The connection failed; check your network and try again.", "error");
    } finally {
      el.addInput.disabled = false;
      el.addInput.focus();
    }
  }

  async function outlineNext(name) {
    if (!state.task || state.busy || state.rework) return;
    if (state.shapes.length && !window.confirm("Your " + state.shapes.length + (state.shapes.length === 1 ? " shape" : " shapes") + " on " + state.task.label.name + " will be lost. Outline " + name + " instead?")) return;
    setBusy(true);
    try {
      const result = await send(config.leasesUrl, { image: state.task.image.id, label: name });
      if (!result.ok) return say(errorText(result), "error");
      // The server gave back the previous lease when it leased this one.
      stopRenewal();
      showTask(result.data);
    } catch (error) {
      say("The connection failed; check your network and try again.", "error");
    } finally {
      setBusy(false);
    }
  }

  // --- Help overlay ---------------------------------------------------------------------------

  function openHelp() {
    state.focusBeforeHelp = document.activeElement;
    el.help.hidden = false;
    el.help.querySelector(".annotate-help-box").focus();
  }

  function closeHelp() {
    el.help.hidden = true;
    if (state.focusBeforeHelp && state.focusBeforeHelp.focus) state.focusBeforeHelp.focus();
  }

  // --- Keyboard ---------------------------------------------------------------------------------

  function onModifiedKey(event) {
    const key = event.key.toLowerCase();
    if (key === "z") {
      if (event.shiftKey) redo();
      else undo();
    } else if (key === "y") {
      redo();
    } else {
      return;
    }
    event.preventDefault();
  }

  function onEditorKey(event) {
    const key = event.key;
    if (key === "Enter") {
      if (state.polygon) return closePolygon();
      if (!event.repeat) finishTask("done");
      return;
    }
    if (key === "Escape") {
      if (state.polygon) return cancelPolygon();
      if (state.gesture) return abandonGesture();
      return select(null);
    }
    if (key === "Backspace" && state.polygon) return removeLastPoint();
    if (key === "Backspace" || key === "Delete") return deleteShape(state.selectedId);
    if (key === "?") return openHelp();
    if (key === "+" || key === "=") return zoomBy(ZOOM_STEP);
    if (key === "-" || key === "_") return zoomBy(1 / ZOOM_STEP);
    if (key === "0") return resetView();
    const letter = key.toLowerCase();
    if (TOOL_KEYS[letter]) return setTool(TOOL_KEYS[letter]);
    if (event.repeat) return;
    if (letter === "d") return finishTask("done");
    if (letter === "s") return finishTask("passed");
    if (letter === "n") return finishTask("nothing_here");
    return false;
  }

  function onKeyDown(event) {
    if (!el.help.hidden) {
      if (event.key === "Escape" || event.key === "?") {
        event.preventDefault();
        closeHelp();
      }
      return;
    }
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    if (!state.task || el.editor.hidden) return;
    if (event.altKey) return;
    if (event.ctrlKey || event.metaKey) return onModifiedKey(event);
    const onButton = event.target.closest("button, a");
    // Enter and Space on a focused button or link keep their usual meaning.
    if (onButton && (event.key === " " || (event.key === "Enter" && !state.polygon))) return;
    if (event.key === " ") {
      state.spaceHeld = true;
      renderToolbar();
      event.preventDefault();
      return;
    }
    if (onEditorKey(event) !== false) event.preventDefault();
  }

  function onKeyUp(event) {
    if (event.key === " " && state.spaceHeld) {
      state.spaceHeld = false;
      renderToolbar();
    }
  }

  // --- Wiring -----------------------------------------------------------------------------------

  function runAction(action) {
    const actions = {
      undo: undo,
      redo: redo,
      delete: function () { deleteShape(state.selectedId); },
      "zoom-in": function () { zoomBy(ZOOM_STEP); },
      "zoom-out": function () { zoomBy(1 / ZOOM_STEP); },
      "zoom-reset": resetView,
      help: openHelp,
      done: function () { finishTask("done"); },
      passed: function () { finishTask("passed"); },
      nothing_here: function () { finishTask("nothing_here"); },
      not_annotatable: function () { finishTask("not_annotatable"); },
    };
    if (actions[action]) actions[action]();
  }

  function onButtonClick(event) {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.dataset.tool) setTool(button.dataset.tool);
    else if (button.dataset.action) runAction(button.dataset.action);
    // A clicked button keeps no focus, so a later Enter closes a polygon or means "Done".
    if (event.detail > 0 && document.activeElement === button) button.blur();
  }

  function onListClick(event) {
    const button = event.target.closest("button[data-shape-id]");
    if (!button) return;
    const id = Number(button.dataset.shapeId);
    if (button.classList.contains("shape-delete")) deleteShape(id);
    else select(id === state.selectedId ? null : id);
  }

  function onListChange(event) {
    const choice = event.target.closest("select[data-refinement]");
    if (!choice) return;
    setRefinement(Number(choice.dataset.shapeId), choice.dataset.refinement, choice.value);
    const again = byId(choice.id);
    if (again) again.focus();
  }

  el.svg.addEventListener("pointerdown", onPointerDown);
  el.svg.addEventListener("pointermove", onPointerMove);
  el.svg.addEventListener("pointerup", onPointerUp);
  el.svg.addEventListener("pointercancel", onPointerCancel);
  el.svg.addEventListener("wheel", onWheel, { passive: false });
  el.svg.addEventListener("contextmenu", function (event) { event.preventDefault(); });
  // Stops the middle button's autoscroll, which would swallow the pan.
  el.svg.addEventListener("mousedown", function (event) { if (event.button === 1) event.preventDefault(); });
  el.toolbar.addEventListener("click", onButtonClick);
  el.actions.addEventListener("click", onButtonClick);
  el.list.addEventListener("click", onListClick);
  el.list.addEventListener("change", onListChange);
  el.image.addEventListener("error", function () {
    if (state.task) say("The image could not be loaded; pass this task or reload the page.", "error");
  });
  el.others.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-outline]");
    if (button) outlineNext(button.dataset.outline);
  });
  el.addForm.addEventListener("submit", function (event) {
    event.preventDefault();
    addLabel(el.addInput.value);
  });
  el.addInput.addEventListener("input", onAddLabelInput);
  el.addInput.addEventListener("keydown", onAddLabelKey);
  el.addInput.addEventListener("blur", function () { window.setTimeout(closeLabelOptions, 150); });
  el.retry.addEventListener("click", function () { if (state.retryAction) state.retryAction(); });
  el.helpClose.addEventListener("click", closeHelp);
  el.help.addEventListener("click", function (event) { if (event.target === el.help) closeHelp(); });
  document.addEventListener("keydown", onKeyDown);
  document.addEventListener("keyup", onKeyUp);
  window.addEventListener("resize", renderCanvas);
  // Background tabs throttle timers, so renew as soon as the editor is seen again.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && state.leaseId) renew();
  });

  if (config.annotationId) loadAnnotation();
  else if (config.chosenImage && config.chosenLabel) loadChosen();
  else loadNext();
})();
