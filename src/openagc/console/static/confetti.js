/* A small canvas confetti burst (no library, no network).
 *
 * confetti(canvas, {duration, maxParticleCount, particleSpeed}):
 *   duration         seconds new particles keep coming (send_notification's `duration`, 1-10)
 *   maxParticleCount particles on screen at most (`maxParticleCount`, up to 9999)
 *   particleSpeed    0-100, how fast they fall and drift (`particleSpeed`)
 * The canvas is shown while the burst runs and hidden when the last particle has left; its dataset
 * carries the options in use (data-duration, data-particles, data-speed) and data-running="1|0".
 * Calling it again while a burst runs restarts it with the new options.
 */
(function (global) {
  "use strict";
  var COLORS = ["#e63946", "#f4a261", "#e9c46a", "#2a9d8f", "#457b9d", "#8338ec", "#ff006e", "#06d6a0"];
  var running = null;

  function confetti(canvas, options) {
    options = options || {};
    var duration = clamp(num(options.duration, 2), 0.2, 10);
    var maxCount = clamp(Math.round(num(options.maxParticleCount, 2350)), 1, 9999);
    var speed = clamp(num(options.particleSpeed, 60), 1, 100);
    if (running) running.stop();

    var ctx = canvas.getContext("2d");
    var dpr = global.devicePixelRatio || 1;
    var width = 0, height = 0;
    function resize() {
      width = canvas.clientWidth || global.innerWidth;
      height = canvas.clientHeight || global.innerHeight;
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    }
    canvas.hidden = false;
    canvas.dataset.duration = String(duration);
    canvas.dataset.particles = String(maxCount);
    canvas.dataset.speed = String(speed);
    canvas.dataset.running = "1";
    resize();
    global.addEventListener("resize", resize);

    var particles = [];
    var started = performance.now();
    var fall = 0.6 + speed / 25;               // px per frame at 60 fps
    var perFrame = Math.max(1, Math.ceil(maxCount / (duration * 60) * 2));
    var frame = 0, handle = 0, stopped = false;

    function spawn() {
      var p = {
        x: Math.random() * width, y: -10 - Math.random() * height * 0.3,
        vx: (Math.random() - 0.5) * fall * 1.2, vy: fall * (0.6 + Math.random() * 0.8),
        size: 5 + Math.random() * 6, tilt: Math.random() * Math.PI, spin: (Math.random() - 0.5) * 0.3,
        color: COLORS[(Math.random() * COLORS.length) | 0]
      };
      particles.push(p);
    }

    function tick(now) {
      if (stopped) return;
      frame++;
      var elapsed = (now - started) / 1000;
      if (elapsed < duration) {
        for (var i = 0; i < perFrame && particles.length < maxCount; i++) spawn();
      }
      ctx.clearRect(0, 0, width, height);
      var alive = [];
      for (var j = 0; j < particles.length; j++) {
        var p = particles[j];
        p.x += p.vx + Math.sin(frame / 20 + j) * 0.4;
        p.y += p.vy;
        p.tilt += p.spin;
        if (p.y < height + 20) {
          alive.push(p);
          ctx.save();
          ctx.translate(p.x, p.y);
          ctx.rotate(p.tilt);
          ctx.fillStyle = p.color;
          ctx.fillRect(-p.size / 2, -p.size / 4, p.size, p.size / 2);
          ctx.restore();
        }
      }
      particles = alive;
      canvas.dataset.live = String(particles.length);
      if (elapsed >= duration && particles.length === 0) { finish(); return; }
      handle = global.requestAnimationFrame(tick);
    }

    function finish() {
      stopped = true;
      global.cancelAnimationFrame(handle);
      global.removeEventListener("resize", resize);
      ctx.clearRect(0, 0, width, height);
      canvas.dataset.running = "0";
      canvas.hidden = true;
      if (running === controller) running = null;
    }

    var controller = { stop: finish };
    running = controller;
    handle = global.requestAnimationFrame(tick);
    return controller;
  }

  /* Stop the running burst at once (the notification's close button does this). */
  confetti.stop = function () { if (running) running.stop(); };

  function num(v, dflt) { var n = parseFloat(v); return isFinite(n) && n > 0 ? n : dflt; }
  function clamp(v, lo, hi) { return Math.min(hi, Math.max(lo, v)); }

  /* "duration,maxParticleCount,particleSpeed" as vicidial_agent_notifications.confetti_options stores it. */
  confetti.parseOptions = function (text) {
    var parts = String(text || "").split(",");
    return { duration: num(parts[0], 2), maxParticleCount: num(parts[1], 2350), particleSpeed: num(parts[2], 60) };
  };

  global.openagcConfetti = confetti;
})(window);
