// Reads QR codes from the phone's camera: with the browser's own
// BarcodeDetector where there is one, with jsQR otherwise. Nothing leaves
// the phone.
import jsQR from "jsqr";

const FRAME_MS = 120; // about 8 frames a second: quick, and easy on the battery
const MAX_SIDE = 720; // frames are scaled down to this before jsQR reads them

export class Scanner {
  /** onText is called with the text of each QR code read; scanning pauses until resume(). */
  constructor(video, canvas, onText) {
    this.video = video;
    this.canvas = canvas;
    this.onText = onText;
    this.stream = null;
    this.timer = 0;
    this.paused = false;
    this.detector = null;
  }

  get running() {
    return this.stream !== null;
  }

  async start() {
    if (this.stream) return;
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
    });
    this.video.srcObject = this.stream;
    await this.video.play();
    if ("BarcodeDetector" in globalThis) {
      try {
        const formats = await globalThis.BarcodeDetector.getSupportedFormats();
        if (formats.includes("qr_code")) this.detector = new globalThis.BarcodeDetector({ formats: ["qr_code"] });
      } catch {
        this.detector = null;
      }
    }
    this.paused = false;
    this.schedule();
  }

  stop() {
    clearTimeout(this.timer);
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
    this.video.srcObject = null;
  }

  pause() {
    this.paused = true;
  }

  resume() {
    if (!this.stream) return;
    this.paused = false;
    this.schedule();
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), FRAME_MS);
  }

  async tick() {
    if (!this.stream || this.paused) return;
    let text = null;
    try {
      text = await this.read();
    } catch {
      text = null;
    }
    if (!this.stream || this.paused) return;
    if (text) {
      this.paused = true;
      this.onText(text);
      return;
    }
    this.schedule();
  }

  async read() {
    const v = this.video;
    if (v.readyState < 2 || !v.videoWidth) return null;
    if (this.detector) {
      const codes = await this.detector.detect(v);
      return codes.length ? codes[0].rawValue : null;
    }
    const scale = Math.min(1, MAX_SIDE / Math.max(v.videoWidth, v.videoHeight));
    const w = Math.round(v.videoWidth * scale);
    const h = Math.round(v.videoHeight * scale);
    this.canvas.width = w;
    this.canvas.height = h;
    const ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(v, 0, 0, w, h);
    const img = ctx.getImageData(0, 0, w, h);
    const code = jsQR(img.data, w, h, { inversionAttempts: "dontInvert" });
    return code ? code.data : null;
  }
}
