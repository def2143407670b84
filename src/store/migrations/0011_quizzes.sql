-- MCQ quizzes and the student's answers. Owned by src/study/quizzes.rs. A quiz is a stored
-- set of model-written questions that passed their checks; each answer is kept for
-- per-topic accuracy. Every row carries its owner; every query is scoped by it.

CREATE TABLE quizzes (
    id          TEXT PRIMARY KEY,                 -- a UUID
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    topic       TEXT NOT NULL,
    written_by  TEXT NOT NULL,                    -- model:<provider>/<model>
    created_at  TEXT NOT NULL                     -- RFC 3339 UTC
);

CREATE INDEX quizzes_by_user ON quizzes (user_id, created_at);

CREATE TABLE quiz_questions (
    id           TEXT PRIMARY KEY,                -- a UUID
    quiz_id      TEXT NOT NULL REFERENCES quizzes (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    stem         TEXT NOT NULL,
    options      TEXT NOT NULL,                   -- JSON: [{text, rationale}]
    answer       INTEGER NOT NULL,                -- index of the correct option
    explanation  TEXT NOT NULL,
    topic        TEXT NOT NULL
);

CREATE INDEX quiz_questions_by_quiz ON quiz_questions (quiz_id, position);

CREATE TABLE mcq_answers (
    id           INTEGER PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    question_id  TEXT NOT NULL,
    quiz_id      TEXT NOT NULL,
    topic        TEXT NOT NULL,
    choice       INTEGER NOT NULL,
    correct      INTEGER NOT NULL,                -- 1 right, 0 wrong
    answered_at  TEXT NOT NULL
);

CREATE INDEX mcq_answers_by_user ON mcq_answers (user_id, topic);
