// srkit serve's page: choose a photo, a model, a scale and (for a calibrated model) a confidence
// level; upload; follow the job; compare before and after; toggle the mask; download.
// document.body.dataset.state says where it is (loading, ready, uploading, queued, running, done,
// failed): the end-to-end test reads it.
'use strict';

const $ = (id) => document.getElementById(id);
let catalogue = null;
let photo = null;      // the chosen File
let beforeUrl = null;  // its object URL, for the "before" side
let job = null;        // {id, result}

function setState(state, message) {
  document.body.dataset.state = state;
  if (message !== undefined) $('message').textContent = message;
}

function megabytes(bytes) { return (bytes / 1048576).toFixed(0) + ' MB'; }

function currentModel() { return catalogue.models.find((m) => m.name === $('model').value); }

function calibrationFor(model, scale) {
  return model.calibrated.find((c) => c.scale === scale);
}

function scaleChanged() {
  const model = currentModel();
  const calibrated = calibrationFor(model, Number($('scale').value));
  $('mask').disabled = !calibrated;
  $('alpha').disabled = !calibrated;
  if (!calibrated) $('mask').checked = false;
  const units = calibrated && calibrated.crop > 0
    ? `${calibrated.crop}\u00d7${calibrated.crop} crops` : 'images';
  $('hint').textContent = calibrated
    ? `Calibrated on ${calibrated.images} ${units}: inside the trusted pixels the expected worst ` +
      `error (D, from 0 to 3) is at most \u03b1, for images like those and of that size.`
    : 'No calibration for this model and scale: no confidence mask (srkit serve --calibration ' +
      'FILE, made by srkit calibrate, adds one).';
}

function modelChanged() {
  const model = currentModel();
  const scale = $('scale');
  scale.replaceChildren(...model.scales.map((s) => new Option('\u00d7' + s, s)));
  scale.value = String(model.calibrated.length ? model.calibrated[0].scale : model.default_scale);
  scaleChanged();
}

async function load() {
  try {
    const response = await fetch('/api/models');
    catalogue = await response.json();
  } catch (error) {
    setState('failed', 'Cannot reach srkit serve: ' + error);
    return;
  }
  $('model').replaceChildren(...catalogue.models.map((m) => new Option(m.name, m.name)));
  $('model').value = catalogue.default_model;
  if (!currentModel()) $('model').selectedIndex = 0;
  modelChanged();
  setState('ready', `Choose a photo (at most ${megabytes(catalogue.max_upload)} and ` +
                    `${(catalogue.max_input_pixels / 1e6).toFixed(1)} megapixels).`);
}

function choose(file) {
  photo = file || null;
  $('go').disabled = !photo;
  if (!photo) return;
  if (photo.size > catalogue.max_upload) {
    setState('ready', `${photo.name} is ${megabytes(photo.size)}: this server takes at most ` +
                      `${megabytes(catalogue.max_upload)}.`);
  } else {
    setState('ready', `${photo.name}: press Upscale.`);
  }
}

async function errorOf(response) {
  try {
    return (await response.json()).error || response.statusText;
  } catch (_) {
    return response.status + ' ' + response.statusText;
  }
}

async function submit(event) {
  event.preventDefault();
  if (!photo) return;
  const form = new FormData();
  form.append('image', photo, photo.name);
  form.append('model', $('model').value);
  form.append('scale', $('scale').value);
  if ($('mask').checked) form.append('alpha', $('alpha').value);
  $('go').disabled = true;
  $('result').hidden = true;
  $('progress').hidden = false;
  $('progress').value = 0;
  setState('uploading', 'Uploading\u2026');
  try {
    const response = await fetch('/api/jobs', {method: 'POST', body: form});
    if (!response.ok) throw new Error(await errorOf(response));
    job = {id: (await response.json()).id};
    await follow();
  } catch (error) {
    $('progress').hidden = true;
    setState('failed', String(error.message || error));
  } finally {
    $('go').disabled = !photo;
  }
}

function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

async function follow() {
  for (;;) {
    const response = await fetch('/api/jobs/' + job.id);
    if (!response.ok) throw new Error(await errorOf(response));
    const status = await response.json();
    if (status.state === 'failed') throw new Error(status.error);
    if (status.state === 'done') return show(status.result);
    $('progress').value = status.progress;
    setState(status.state, status.state === 'queued'
      ? `Waiting: ${status.position} job(s) ahead.`
      : `Upscaling: ${(100 * status.progress).toFixed(0)} %`);
    await sleep(400);
  }
}

function loaded(image, src) {
  return new Promise((resolve, reject) => {
    image.onload = resolve;
    image.onerror = () => reject(new Error('cannot show ' + src));
    image.src = src;
  });
}

async function show(result) {
  job.result = result;
  const url = (what) => `/api/jobs/${job.id}/${what}.png`;
  if (beforeUrl) URL.revokeObjectURL(beforeUrl);
  beforeUrl = URL.createObjectURL(photo);
  $('show-mask').checked = false;
  $('show-mask').disabled = result.trusted_fraction === undefined;
  await Promise.all([loaded($('after'), url('output')), loaded($('before'), beforeUrl)]);
  document.body.dataset.view = 'output';
  const stem = photo.name.replace(/\.[^.]*$/, '') || 'photo';
  $('download').href = url('output');
  $('download').download = `${stem}_x${result.scale}.png`;
  let facts = `${result.input_width}\u00d7${result.input_height} \u2192 ` +
              `${result.width}\u00d7${result.height}, ${result.model}, ` +
              `${result.seconds.toFixed(1)} s`;
  if (result.trusted_fraction !== undefined) {
    facts += `; ${(100 * result.trusted_fraction).toFixed(1)} % of the pixels trusted at ` +
             `\u03b1 = ${result.alpha}`;
  }
  $('facts').textContent = facts;
  $('progress').hidden = true;
  $('result').hidden = false;
  setState('done', 'Done. Drag across the image to compare.');
}

async function toggleMask() {
  const view = $('show-mask').checked ? 'overlay' : 'output';
  await loaded($('after'), `/api/jobs/${job.id}/${view}.png`);
  document.body.dataset.view = view;
}

$('model').addEventListener('change', modelChanged);
$('scale').addEventListener('change', scaleChanged);
$('file').addEventListener('change', () => choose($('file').files[0]));
$('form').addEventListener('submit', submit);
$('show-mask').addEventListener('change', toggleMask);
$('slider').addEventListener('input', () =>
  $('compare').style.setProperty('--split', $('slider').value + '%'));
document.addEventListener('dragover', (event) => event.preventDefault());
document.addEventListener('drop', (event) => {
  event.preventDefault();
  if (event.dataTransfer.files.length) choose(event.dataTransfer.files[0]);
});
load();
