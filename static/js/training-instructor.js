/*
 * The instructor dashboard, live: enrollment counts, the feed of enrollments and completions,
 * notifications, and the analytics charts, which redraw from the absolute totals the
 * analytics pipeline publishes after it records each activity.
 */
(function () {
  "use strict";

  function start() {
    const root = document.querySelector("[data-instructor-dashboard]");
    if (!root) return;
    // Event names and the feed's wording, from the server (training/views.py live_settings).
    const { events, feed: feedSettings } = JSON.parse(document.getElementById("training-live").textContent);
    const me = Number(root.dataset.userId);
    const charts = JSON.parse(document.getElementById("training-charts").textContent);
    const perDay = root.querySelector('[data-chart="enrollments-per-day"]');
    const funnel = root.querySelector('[data-chart="completion-funnel"]');

    function draw() {
      const courses = Object.values(charts.courses);
      TrainingCharts.bars(
        perDay,
        charts.days.map((day) => ({ day, value: courses.reduce((sum, c) => sum + (c.enrollments[day] || 0), 0) })),
      );
      const stage = (key) => courses.reduce((sum, c) => sum + c.funnel[key], 0);
      TrainingCharts.funnel(funnel, [
        { label: "Enrolled", value: stage("enrolled") },
        { label: "Started", value: stage("started") },
        { label: "Completed", value: stage("completed") },
      ]);
    }

    function applyStats(data) {
      const course = charts.courses[data.course_id];
      if (!course) return;
      const last = charts.days[charts.days.length - 1];
      if (data.day > last) {
        charts.days.push(data.day); // the dashboard stayed open past midnight
        charts.days.shift();
      }
      course.enrollments[data.day] = data.enrollments;
      course.funnel = { enrolled: data.funnel_enrolled, started: data.funnel_started, completed: data.funnel_completed };
      draw();
    }

    function setCount(data) {
      const count = root.querySelector(`tr[data-course-id="${data.course_id}"] [data-field="enrollment-count"]`);
      if (!count || count.textContent === String(data.enrolled_count)) return;
      count.textContent = data.enrolled_count;
      count.classList.remove("arrived");
      void count.offsetWidth; // restart the highlight
      count.classList.add("arrived");
    }

    function addToFeed(event) {
      const { kind, verb } = feedSettings.entries[event.type];
      const data = event.data;
      const feed = root.querySelector("[data-feed]");
      const entry = `${data.enrollment_id}-${kind}`;
      if (feed.querySelector(`[data-entry="${entry}"]`)) return; // already in the page's HTML
      feed.prepend(
        Live.el(
          "li",
          { class: "arrived", dataset: { courseId: data.course_id, kind, entry } },
          Live.el("strong", {}, data.learner_name),
          ` ${verb} ${data.course_title} `,
          Live.el("span", { class: "muted small feed-time" }, Live.el("time", { datetime: data.occurred_at }, "just now")),
        ),
      );
      while (feed.children.length > feedSettings.length) feed.lastElementChild.remove();
      Live.announce(`${data.learner_name} ${verb} ${data.course_title}`);
      root.querySelector("[data-feed-empty]").hidden = true;
    }

    function onEvent(event) {
      const data = event.data;
      if (event.type === events.notificationCreated) {
        if (data.recipient_id === me) TrainingNotifications.add(data);
        return;
      }
      if (event.type === events.courseStatsUpdated) {
        applyStats(data);
        return;
      }
      if (data.instructor_id !== me) return; // the instructor's own learning, not their teaching
      if (event.type !== events.lessonCompleted) setCount(data);
      if (event.type in feedSettings.entries) addToFeed(event);
    }

    draw();
    let resizing = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizing);
      resizing = setTimeout(draw, 150);
    });
    Live.stream({ onEvent });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
