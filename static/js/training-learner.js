/*
 * The learner dashboard, live: a course appears the moment the learner enrolls, its progress
 * bar moves as lessons are completed, and notifications arrive without a reload.
 */
(function () {
  "use strict";

  function start() {
    const root = document.querySelector("[data-learner-dashboard]");
    if (!root) return;
    // Event names from the server (training/views.py live_settings).
    const { events } = JSON.parse(document.getElementById("training-live").textContent);
    const me = Number(root.dataset.userId);
    const courses = root.querySelector("[data-courses]");
    const empty = root.querySelector("[data-empty]");

    function courseUrl(courseId) {
      return root.dataset.courseUrl.replace("/0/", `/${courseId}/`);
    }

    function lessonUrl(courseId, lessonId) {
      return root.dataset.lessonUrl.replace("/0/", `/${courseId}/`).replace("/0/", `/${lessonId}/`);
    }

    function percent(data) {
      return data.total_lessons ? Math.round((100 * data.completed_lessons) / data.total_lessons) : 0;
    }

    function nextLesson(data) {
      if (data.next_lesson_id) {
        return ["Next: ", Live.el("a", { href: lessonUrl(data.course_id, data.next_lesson_id) }, data.next_lesson_title)];
      }
      if (data.status === "completed") return ["Every lesson done. Well done!"];
      return [data.total_lessons ? "Every lesson done." : "No lessons yet."];
    }

    function buildCard(data) {
      const value = percent(data);
      return Live.el(
        "article",
        { class: "card course-progress arrived", dataset: { courseId: data.course_id, enrollmentId: data.enrollment_id, status: data.status } },
        Live.el(
          "div",
          { class: "course-progress-head" },
          Live.el("h3", {}, Live.el("a", { href: courseUrl(data.course_id) }, data.course_title)),
          Live.el("span", { class: "badge", "data-field": "status" }, "In progress"),
        ),
        Live.el(
          "div",
          { class: "progress", "data-progress": "", role: "progressbar", "aria-valuenow": value, "aria-valuemin": 0, "aria-valuemax": 100, "aria-label": `Progress in ${data.course_title}` },
          Live.el("span", { style: `width: ${value}%` }),
        ),
        Live.el(
          "p",
          { class: "small muted progress-caption" },
          Live.el("span", { "data-field": "progress-text" }, `${value}%`),
          " · ",
          Live.el("span", { "data-field": "lesson-count" }, `${data.completed_lessons} of ${data.total_lessons} lessons`),
        ),
        Live.el("p", { class: "next-lesson", "data-field": "next-lesson" }, nextLesson(data)),
      );
    }

    function cardFor(data) {
      return courses.querySelector(`[data-course-id="${data.course_id}"]`);
    }

    function updateCard(card, data) {
      const value = percent(data);
      const bar = card.querySelector("[data-progress]");
      bar.setAttribute("aria-valuenow", value);
      bar.firstElementChild.style.width = `${value}%`;
      card.querySelector('[data-field="progress-text"]').textContent = `${value}%`;
      card.querySelector('[data-field="lesson-count"]').textContent = `${data.completed_lessons} of ${data.total_lessons} lessons`;
      card.querySelector('[data-field="next-lesson"]').replaceChildren(...nextLesson(data));
      card.dataset.status = data.status;
      const badge = card.querySelector('[data-field="status"]');
      badge.textContent = data.status === "completed" ? "Completed" : "In progress";
      badge.classList.toggle("ok", data.status === "completed");
    }

    function onEvent(event) {
      const data = event.data;
      if (event.type === events.notificationCreated) {
        if (data.recipient_id === me) TrainingNotifications.add(data);
        return;
      }
      if (data.learner_id !== me) return; // an instructor's view of someone else's progress
      const card = cardFor(data);
      if (event.type === events.enrolled) {
        if (card) card.remove();
        courses.prepend(buildCard(data));
        Live.announce(`Enrolled in ${data.course_title}`);
      } else if (event.type === events.cancelled) {
        if (card) card.remove();
      } else if ((event.type === events.lessonCompleted || event.type === events.courseCompleted) && card) {
        updateCard(card, data);
        Live.announce(`${data.course_title}: ${percent(data)}% complete`);
      }
      empty.hidden = courses.querySelector("[data-course-id]") !== null;
    }

    Live.stream({ onEvent });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
